from __future__ import annotations

from ehrfeat.training.batching import SYNONYMS, plan_batches
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
