"""Paired bootstrap by concept: checked against the written-out resample and against hand-computed intervals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ehrfeat.errors import ConfigError
from ehrfeat.evaluation.bootstrap import BootstrapSettings, ItemScores, hits_difference
from ehrfeat.evaluation.concept_bootstrap import (
    _weighted_correlation,
    concept_auc_difference,
    concept_hits_difference,
    concept_spearman_difference,
    weighted_ranks,
)
from ehrfeat.evaluation.intervals import paired_intervals
from ehrfeat.evaluation.metrics import roc_auc

CONCEPT = BootstrapSettings(resamples=1000, seed=0, unit="concept")


def test_weighted_ranks_are_the_ranks_of_the_written_out_sample() -> None:
    rng = np.random.default_rng(0)
    values = np.round(rng.normal(size=40), 1)  # rounded: many ties between items
    weights = rng.integers(0, 4, size=(5, 40)).astype(np.float64)
    ranks = weighted_ranks(values, weights)
    for row in range(5):
        written = np.repeat(values, weights[row].astype(int))
        expected = dict(zip(written.tolist(), stats.rankdata(written).tolist(), strict=True))
        drawn = weights[row] > 0
        assert ranks[row, drawn] == pytest.approx([expected[v] for v in values[drawn]])


def test_weighted_spearman_is_spearman_of_the_written_out_sample() -> None:
    rng = np.random.default_rng(1)
    cos, cats = rng.normal(size=30), rng.integers(0, 4, size=30).astype(np.float64)
    weights = rng.integers(0, 3, size=(3, 30)).astype(np.float64)
    got = _weighted_correlation(weighted_ranks(cos, weights), weighted_ranks(-cats, weights), weights)
    for row in range(3):
        n = weights[row].astype(int)
        assert got[row] == pytest.approx(stats.spearmanr(np.repeat(cos, n), np.repeat(-cats, n))[0])


def test_one_concept_gives_the_observed_difference_as_its_interval() -> None:
    # every resample draws the one concept: all of its items, every time
    base, trained = np.array([1.0, 0.0, 0.0, 1.0]), np.array([1.0, 1.0, 1.0, 1.0])
    assert concept_hits_difference(base, trained, np.array(["C"] * 4), CONCEPT) == (0.5, 0.5)
    pos_a, neg_a, pos_b, neg_b = np.array([0.9, 0.2]), np.array([0.5, 0.1]), np.array([0.9, 0.6]), np.array([0.5, 0.1])
    delta = roc_auc(pos_b, neg_b) - roc_auc(pos_a, neg_a)  # 1.0 - 0.75
    lo, hi = concept_auc_difference((pos_a, pos_b), (neg_a, neg_b), np.array(["x", "x"]), np.array(["x", "x"]), CONCEPT)
    assert lo == pytest.approx(delta) and hi == pytest.approx(delta)


def test_two_concepts_by_hand() -> None:
    # concept A: 3 queries, each won (+1); concept B: 1 query, unchanged (0). Two draws per resample:
    # AA -> 6/6 = 1 (p 1/4), AB -> 3/4 (p 1/2), BB -> 0 (p 1/4): the 95% interval is [0, 1]
    base, trained = np.zeros(4), np.array([1.0, 1.0, 1.0, 0.0])
    concepts = np.array(["A", "A", "A", "B"])
    assert concept_hits_difference(base, trained, concepts, CONCEPT) == (0.0, 1.0)
    # by query the same data never draw a zero mean often enough to reach the lower tail's 2.5 %
    assert hits_difference(base, trained, BootstrapSettings(resamples=1000, seed=0))[0] > 0.0


def test_correlated_queries_widen_the_interval_past_zero() -> None:
    # 40 concepts of 10 queries each; a concept's queries are all won or all lost together
    rng = np.random.default_rng(2)
    per_concept = np.where(rng.random(40) < 0.6, 1.0, -1.0)
    diff = np.repeat(per_concept, 10)
    base = np.where(diff < 0, 1.0, 0.0)
    trained = np.where(diff > 0, 1.0, 0.0)
    concepts = np.repeat(np.arange(40), 10)
    by_item = hits_difference(base, trained, BootstrapSettings(resamples=1000, seed=0))
    by_concept = concept_hits_difference(base, trained, concepts, CONCEPT)
    assert by_item[0] > 0.0  # 400 "independent" queries: a win
    assert by_concept[0] < 0.0 < by_concept[1]  # 40 concepts: not a win
    assert by_concept[1] - by_concept[0] > 2.5 * (by_item[1] - by_item[0])


def test_concept_spearman_covers_its_point_difference_and_ignores_empty_rows() -> None:
    rng = np.random.default_rng(3)
    cats = np.repeat(np.arange(3), 60)
    cos_a = -0.1 * cats + rng.normal(0, 0.2, cats.size)
    cos_b = -0.2 * cats + rng.normal(0, 0.2, cats.size)
    concepts = np.arange(cats.size) % 30
    lo, hi = concept_spearman_difference(cos_a, cos_b, cats, concepts, CONCEPT)
    delta = stats.spearmanr(cos_b, -cats)[0] - stats.spearmanr(cos_a, -cats)[0]
    assert 0.0 < lo <= delta <= hi
    # a category pair drawn by few concepts: resamples without one of the categories are left out, not NaN
    pos, neg = rng.normal(size=3), rng.normal(size=3)
    interval = concept_auc_difference((pos, pos + 1), (neg, neg), np.array([0, 1, 2]), np.array([3, 3, 3]), CONCEPT)
    assert np.isfinite(interval).all()


def test_paired_intervals_by_concept_need_every_items_concept() -> None:
    cats = np.repeat(np.arange(2), 20)
    cos = np.linspace(0, 1, 40)
    hits = {"syn_acc@1": np.ones(10)}
    bare = ItemScores(cos, cats, np.full(40, "a"), hits)
    with pytest.raises(ValueError, match="concept of every held-out pair"):
        paired_intervals(bare, bare, CONCEPT)
    full = ItemScores(cos, cats, np.full(40, "a"), hits, np.arange(40) % 8, {"syn_acc@1": np.arange(10) % 3})
    intervals = paired_intervals(full, full, CONCEPT)
    assert {"auc_0v1", "spearman", "a:auc_0v1", "a:spearman", "syn_acc@1"} == set(intervals)
    assert all(lo == pytest.approx(0.0) and hi == pytest.approx(0.0) for lo, hi in intervals.values())
    with pytest.raises(ConfigError, match="E417"):
        BootstrapSettings(unit="anchor")


def test_the_cli_offers_exactly_the_units_the_settings_accept() -> None:
    from ehrfeat.cli.evaluate import BootstrapUnit  # a copy: the CLI does not import numpy at start-up
    from ehrfeat.evaluation.bootstrap import BOOTSTRAP_UNITS

    assert tuple(u.value for u in BootstrapUnit) == BOOTSTRAP_UNITS
