"""Held-out evaluation of term encoders (numpy/scipy only: works for torch and ONNX encoders)."""

from __future__ import annotations

from ehrfeat.evaluation.heldout import HELDOUT_FILE, EvalSet, evaluate_encoder
from ehrfeat.evaluation.linking import LinkingTask, default_linking_tasks, evaluate_linking
from ehrfeat.evaluation.metrics import retrieval_accuracy, roc_auc, spearman
from ehrfeat.evaluation.report import METRIC_COLUMNS, format_report, winner_rows

__all__ = [
    "HELDOUT_FILE",
    "METRIC_COLUMNS",
    "EvalSet",
    "LinkingTask",
    "default_linking_tasks",
    "evaluate_encoder",
    "evaluate_linking",
    "format_report",
    "retrieval_accuracy",
    "roc_auc",
    "spearman",
    "winner_rows",
]
