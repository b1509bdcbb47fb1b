from __future__ import annotations

import random

from ehrfeat.training.batching import SYNONYMS, plan_batches, synonym_batches
from ehrfeat.training.pairs import PairSet, TermPair
from ehrfeat.training.synonyms import SynonymSet


def _pairs(name: str, n: int) -> PairSet:
    return PairSet(name, [TermPair(f"{name}a{i}", f"{name}b{i}", i % 4) for i in range(n)])


def test_round_robin_and_epochs() -> None:
    syn = SynonymSet([(f"s{i}", f"t{i}") for i in range(8)])
    plan = plan_batches([_pairs("x", 40), _pairs("y", 20)], syn, batch_size=10, weights={}, seed=1)
    assert [b.source for b in plan[:6]] == ["x", "y", SYNONYMS, "x", "y", SYNONYMS]
    assert sum(b.source == "x" for b in plan) == 4  # one pass of the longest loader ends the epoch
    assert [len(b) for b in plan if b.source == SYNONYMS][:2] == [10, 6]  # 5 groups x 2 strings, then 3 x 2
    syn_batch = next(b for b in plan if b.source == SYNONYMS)
    assert len(set(syn_batch.labels)) == 5 and len(syn_batch.terms) == 10
    two = plan_batches([_pairs("x", 40), _pairs("y", 20)], syn, batch_size=10, weights={}, seed=1, epochs=2)
    assert sum(b.source == "x" for b in two) == 8
    assert two[: len(plan)] == plan  # deterministic in the seed


def test_weights_set_the_share_of_steps_and_max_steps_caps() -> None:
    plan = plan_batches([_pairs("x", 400), _pairs("y", 400)], None, batch_size=10, weights={"x": 3.0, "y": 1.0})
    first = [b.source for b in plan[:40]]
    assert first.count("x") == 30 and first.count("y") == 10
    capped = plan_batches([_pairs("x", 400)], None, batch_size=10, weights={}, max_steps=7)
    assert len(capped) == 7
    assert plan_batches([_pairs("x", 400)], None, batch_size=10, weights={"x": 0.0}) == []


def test_by_anchor_keeps_each_anchors_pairs_in_one_batch() -> None:
    pairs = PairSet("x", [TermPair(f"a{i % 13}", f"o{i}", i % 4) for i in range(13 * 6)])  # 13 anchors x 6 pairs
    plan = plan_batches([pairs], None, batch_size=20, weights={}, seed=3, by_anchor=True)
    home: dict[str, int] = {}
    for n, batch in enumerate(plan):
        assert len(batch) <= 20
        for p in batch.pairs:
            assert home.setdefault(p.anchor, n) == n  # never split across batches
    assert len(home) == 13 and sum(len(b) for b in plan) == 13 * 6  # every pair, once
    assert [len(b) for b in plan] == [18, 18, 18, 18, 6]  # whole anchors of 6 packed into 20
    shuffled = plan_batches([pairs], None, batch_size=20, weights={}, seed=3)
    assert any(len({p.anchor for p in b.pairs}) > 4 for b in shuffled)  # without it, anchors scatter


def test_by_anchor_splits_an_anchor_larger_than_a_batch() -> None:
    pairs = PairSet("x", [TermPair("big", f"o{i}", i % 4) for i in range(25)])
    plan = plan_batches([pairs], None, batch_size=10, weights={}, by_anchor=True)
    assert [len(b) for b in plan] == [10, 10, 5]


def test_synonym_group_weights_set_the_draws_per_pass() -> None:
    groups = [(f"s{i}", f"t{i}") for i in range(6)]
    weighted = SynonymSet(groups, weights=[3.0, 1.0, 1.0, 0.0, 1.0, 2.0])
    batches = plan_batches([], weighted, batch_size=4, weights={}, seed=2)
    drawn = [label for b in batches for label in b.labels]
    assert len(drawn) == 2 * 8 and drawn.count(0) == 2 * 3 and 3 not in drawn  # 8 draws of 2 strings; group 3 never
    plain = plan_batches([], SynonymSet(groups), batch_size=4, weights={}, seed=2)
    ones = plan_batches([], SynonymSet(groups, weights=[1.0] * 6), batch_size=4, weights={}, seed=2)
    assert ones == plain  # weights of 1 change nothing, not even the shuffle
    halves = SynonymSet([(f"s{i}", f"t{i}") for i in range(600)], weights=[0.5] * 600)
    drawn_once = {label for b in synonym_batches(halves, 4, random.Random(0)) for label in b.labels}
    assert 255 < len(drawn_once) < 345  # each group drawn with chance 0.5: about 300 of 600 (sd 12)


def _families(n_families: int, size: int, weights: list[float] | None = None) -> SynonymSet:
    groups = [(f"s{f}.{i}", f"t{f}.{i}") for f in range(n_families) for i in range(size)]
    return SynonymSet(groups, weights=weights or [], families=[f"P:{f}" for f in range(n_families) for _ in range(size)])


def test_sibling_synonyms_put_sibling_groups_side_by_side() -> None:
    syn = _families(10, 12)  # 120 groups, 12 siblings per parent
    family = dict(enumerate(syn.families))
    plain = synonym_batches(syn, 32, random.Random(1))
    sibling = synonym_batches(syn, 32, random.Random(1), siblings=True)

    def labels(batches: list) -> list[list[int]]:  # type: ignore[type-arg]
        return [list(dict.fromkeys(b.labels)) for b in batches]

    assert sorted(g for b in labels(sibling) for g in b) == list(range(120))  # every group once per pass, as before

    def sibling_share(batches: list) -> float:  # type: ignore[type-arg]
        pairs = [(a, b) for groups in labels(batches) for i, a in enumerate(groups) for b in groups[i + 1:]]
        return sum(family[a] == family[b] for a, b in pairs) / len(pairs)

    assert sibling_share(plain) < 0.2 < 0.25 < sibling_share(sibling)  # random: about 1/10 of pairs are siblings
    full = [groups for groups in labels(sibling) if len(groups) == 16]
    # siblings come in runs of at most a quarter of a batch (4 groups), so a family of 12 never fills a batch of 16
    assert all(len({family[g] for g in groups}) >= 2 for groups in full)
    assert sum(len({family[g] for g in groups}) for groups in full) / len(full) >= 3.5
    assert synonym_batches(SynonymSet(syn.groups), 32, random.Random(1), siblings=True) == plain  # no families: as before


def test_sibling_synonyms_keep_the_draws_of_weighted_groups() -> None:
    syn = _families(4, 6, weights=[2.0] * 12 + [1.0] * 12)
    batches = plan_batches([], syn, batch_size=8, weights={}, seed=3, sibling_synonyms=True)
    drawn = [label for b in batches for label in b.labels]
    assert all(drawn.count(g) == 2 * 2 for g in range(12)) and all(drawn.count(g) == 2 for g in range(12, 24))
    assert plan_batches([], syn, batch_size=8, weights={}, seed=3) != batches
    assert plan_batches([], syn, batch_size=8, weights={}, seed=3, sibling_synonyms=True) == batches  # a pure function of the seed
