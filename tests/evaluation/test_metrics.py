from __future__ import annotations

import math

import numpy as np
import pytest

from ehrfeat.evaluation.metrics import retrieval_accuracy, roc_auc, spearman


def test_roc_auc_by_hand() -> None:
    # positives 0.9, 0.4; negatives 0.5, 0.1: pairs won 0.9>0.5, 0.9>0.1, 0.4>0.1, lost 0.4<0.5 -> 3/4
    assert roc_auc([0.9, 0.4], [0.5, 0.1]) == pytest.approx(0.75)
    assert roc_auc([0.5], [0.5]) == pytest.approx(0.5)  # a tie counts one half
    assert roc_auc([1, 2], [0]) == 1.0 and roc_auc([0], [1, 2]) == 0.0
    assert math.isnan(roc_auc([], [1.0]))


def test_roc_auc_matches_pairwise_count() -> None:
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(1, 1, 50).round(1), rng.normal(0, 1, 40).round(1)
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    assert roc_auc(pos, neg) == pytest.approx(wins / (50 * 40))


def test_spearman() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_retrieval_accuracy() -> None:
    cands = np.eye(3, dtype=np.float32)
    queries = np.array([[0.9, 0.1, 0], [0.6, 0.5, 0], [0, 0.2, 0.9]], dtype=np.float32)
    acc = retrieval_accuracy(queries, cands, np.array([0, 1, 2]), ks=(1, 2))
    assert acc[1] == pytest.approx(2 / 3) and acc[2] == pytest.approx(1.0)
