"""ehrfeat.evaluation.heldout: pair AUCs, Spearman and synonym accuracy of any Encoder on a held-out set."""

from __future__ import annotations

import pytest

from ehrfeat.evaluation import evaluate_encoder
from tests.eval_data import EVAL, GOOD, TableEncoder


def test_perfect_ordering_scores_one() -> None:
    m = evaluate_encoder(TableEncoder(GOOD), EVAL)
    for key in ("auc_0v1", "auc_0v2", "auc_0v3", "auc_1v2", "auc_1v3", "auc_2v3", "spearman", "syn_acc@1"):
        assert m[key] == pytest.approx(1.0), key
    assert m["pairs"] == 4 and m["synonym_queries"] == 2 and m["by_source"]["s"]["pairs"] == 4
