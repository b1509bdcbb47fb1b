"""Paired bootstrap intervals of a metric difference: small cases checkable by hand."""

from __future__ import annotations

import numpy as np
import pytest

from ehrfeat.evaluation.bootstrap import (
    BootstrapSettings,
    ItemScores,
    auc_difference,
    hits_difference,
    spearman_difference,
    weighted_auc,
)
from ehrfeat.evaluation.intervals import paired_intervals
from ehrfeat.evaluation.metrics import roc_auc, spearman
from ehrfeat.evaluation.report import format_report, winner_rows

SETTINGS = BootstrapSettings(resamples=1000, seed=0)


def _items(rng: np.random.Generator, separation: float) -> ItemScores:
    """200 pairs per category 0..3; cosine falls with the category by ``separation`` plus noise."""
    cats = np.repeat(np.arange(4), 200)
    cos = 0.8 - separation * cats + rng.normal(0, 0.1, cats.size)
    return ItemScores(cos, cats, np.where(np.arange(cats.size) % 2 == 0, "a", "b"), {"syn_acc@1": (rng.random(300) < 0.5 + separation).astype(float)})


def test_weighted_auc_is_the_auc_of_the_resampled_items() -> None:
    pos, neg = np.array([0.9, 0.4, 0.5]), np.array([0.5, 0.1])
    ones = weighted_auc(pos, neg, np.ones((1, 3)), np.ones((1, 2)))
    assert ones[0] == pytest.approx(roc_auc(pos, neg))  # (1 + 1) + (0 + 1) + (0.5 + 1) over 6 = 4.5/6
    assert ones[0] == pytest.approx(4.5 / 6)
    counts_pos, counts_neg = np.array([[2, 0, 1]]), np.array([[0, 2]])  # resample: 0.9, 0.9, 0.5 vs 0.1, 0.1
    assert weighted_auc(pos, neg, counts_pos, counts_neg)[0] == pytest.approx(roc_auc([0.9, 0.9, 0.5], [0.1, 0.1]))


def test_identical_models_give_an_interval_of_zero_and_no_win() -> None:
    items = _items(np.random.default_rng(1), 0.05)
    intervals = paired_intervals(items, items, SETTINGS)
    assert {"auc_0v1", "auc_2v3", "spearman", "a:auc_0v1", "b:spearman", "syn_acc@1"} <= set(intervals)
    for metric, (lo, hi) in intervals.items():
        assert lo == pytest.approx(0.0) and hi == pytest.approx(0.0), metric
        assert lo <= 0 <= hi


def test_a_clearly_better_scorer_has_its_lower_end_above_zero() -> None:
    rng = np.random.default_rng(2)
    base, better = _items(rng, 0.0), _items(rng, 0.2)
    better = ItemScores(better.cos, base.cats, base.sources, better.hits)
    intervals = paired_intervals(base, better, SETTINGS)
    for metric in ("auc_0v1", "auc_1v2", "auc_0v3", "spearman", "a:auc_0v1", "syn_acc@1"):
        lo, hi = intervals[metric]
        assert 0 < lo <= hi, metric
    # the point difference lies inside its interval
    delta = spearman(better.cos, -better.cats) - spearman(base.cos, -base.cats)
    assert intervals["spearman"][0] <= delta <= intervals["spearman"][1]


def test_a_small_noisy_gain_is_not_a_win() -> None:
    base = np.zeros(100)
    better = base.copy()
    better[0] = 1.0  # +0.01: one query of 100
    lo, hi = hits_difference(base, better, SETTINGS)
    assert lo == 0.0 and hi > 0.0  # some resamples miss the one query: the interval touches 0
    assert hits_difference(np.zeros(4), np.ones(4), SETTINGS) == (1.0, 1.0)


def test_intervals_are_reproducible_and_seeded() -> None:
    rng = np.random.default_rng(3)
    pa, na, pb, nb = (rng.normal(size=50) for _ in range(4))
    first = auc_difference(pa, na, pb, nb, SETTINGS, "x")
    assert auc_difference(pa, na, pb, nb, SETTINGS, "x") == first
    assert auc_difference(pa, na, pb, nb, BootstrapSettings(seed=7), "x") != first
    cats = np.repeat([0, 1], 25)
    assert spearman_difference(pa, pb, cats, SETTINGS) == spearman_difference(pa, pb, cats, SETTINGS)


def test_report_marks_a_win_only_when_the_interval_is_above_zero() -> None:
    results = {
        "base": {"auc_0v1": 0.50, "auc_0v2": 0.50, "syn_acc@1": 0.5},
        "trained": {"auc_0v1": 0.51, "auc_0v2": 0.60, "syn_acc@1": 0.49, "ci95": {"auc_0v1": [-0.01, 0.03], "auc_0v2": [0.05, 0.15], "syn_acc@1": [-0.03, 0.01]}},
    }
    assert winner_rows(results) == {"auc_0v1": False, "auc_0v2": True, "syn_acc@1": False}
    table = format_report(results, markdown=True)
    assert "| auc_0v1 | 0.5000 | 0.5100 | +0.0100 | [-0.0100, +0.0300] | no |" in table
    assert "| auc_0v2 | 0.5000 | 0.6000 | +0.1000 | [+0.0500, +0.1500] | yes |" in table
    # results without intervals (older JSON) fall back to the sign of the delta
    assert winner_rows({"base": {"auc_0v1": 0.5}, "trained": {"auc_0v1": 0.51}}) == {"auc_0v1": True}


def test_an_interval_end_that_rounds_to_zero_keeps_its_sign() -> None:
    # mesh:auc_0v2 of v29: lower end +0.0000263 is a win; at four places it would print +0.0000
    results = {"base": {"auc_0v1": 0.5, "auc_0v2": 0.5, "auc_1v2": 0.5},
               "trained": {"auc_0v1": 0.503, "auc_0v2": 0.497, "auc_1v2": 0.5,
                           "ci95": {"auc_0v1": [2.63e-05, 0.0063], "auc_0v2": [-0.0063, -4e-06], "auc_1v2": [0.0, 0.001]}}}
    table = format_report(results, markdown=True)
    assert "| auc_0v1 | 0.5000 | 0.5030 | +0.0030 | [+0.000026, +0.0063] | yes |" in table
    assert "| auc_0v2 | 0.5000 | 0.4970 | -0.0030 | [-0.0063, -0.000004] | no |" in table
    assert "[+0.0000, +0.0010] | no |" in table  # exactly zero is no win, and shown as such
