"""Held-out evaluation of term encoders (numpy/scipy only: works for torch and ONNX encoders)."""

from __future__ import annotations

from ehrfeat.evaluation.bootstrap import BootstrapSettings, ItemScores
from ehrfeat.evaluation.heldout import HELDOUT_FILE, EvalSet, compare_encoders, evaluate_encoder, score_encoder
from ehrfeat.evaluation.intervals import paired_intervals
from ehrfeat.evaluation.lay import build_lay_task, lay_tasks
from ehrfeat.evaluation.linking import LinkingTask, default_linking_tasks, evaluate_linking
from ehrfeat.evaluation.metrics import retrieval_accuracy, roc_auc, spearman
from ehrfeat.evaluation.report import METRIC_COLUMNS, format_report, report_rows, winner_rows

__all__ = [
    "HELDOUT_FILE",
    "METRIC_COLUMNS",
    "BootstrapSettings",
    "EvalSet",
    "ItemScores",
    "LinkingTask",
    "build_lay_task",
    "compare_encoders",
    "default_linking_tasks",
    "evaluate_encoder",
    "evaluate_linking",
    "format_report",
    "lay_tasks",
    "paired_intervals",
    "report_rows",
    "retrieval_accuracy",
    "roc_auc",
    "score_encoder",
    "spearman",
    "winner_rows",
]
