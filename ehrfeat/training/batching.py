"""Batches of pairs and of synonym groups, interleaved round-robin into one fixed plan.

The plan is a pure function of the data and the seed, so a resumed run skips the
steps already taken and sees exactly the batches an uninterrupted run would.
Source weights (the anchor weights of the config, and ``synonym_weight``) set
each loader's share of the steps. Torch-free.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ehrfeat.training.pairs import PairSet, TermPair
from ehrfeat.training.synonyms import SynonymSet

__all__ = ["SYNONYMS", "Batch", "pair_batches", "plan_batches", "synonym_batches"]

SYNONYMS = "synonyms"


@dataclass(frozen=True)
class Batch:
    """One step: pairs of a hierarchy source, or labelled terms of synonym groups."""

    source: str
    pairs: tuple[TermPair, ...] = ()
    terms: tuple[str, ...] = ()
    labels: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.pairs) or len(self.terms)


def _anchor_order(pairs: PairSet, batch_size: int, rng: random.Random) -> list[list[int]]:
    """Pair indices grouped by anchor, groups shuffled and packed whole into chunks of at most ``batch_size``."""
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(pairs.pairs):
        groups.setdefault(p.anchor, []).append(i)
    order = list(groups.values())
    rng.shuffle(order)
    chunks: list[list[int]] = [[]]
    for group in order:
        for start in range(0, len(group), batch_size):  # an anchor with more pairs than a batch is split
            part = group[start : start + batch_size]
            if len(chunks[-1]) + len(part) > batch_size:
                chunks.append([])
            chunks[-1].extend(part)
    return chunks


def pair_batches(pairs: PairSet, batch_size: int, rng: random.Random, by_anchor: bool = False) -> list[Batch]:
    """The source's pairs, shuffled, in batches of ``batch_size`` (a last batch of one pair is dropped).

    ``by_anchor`` keeps every anchor's pairs in one batch (anchors shuffled, not pairs),
    so a per-anchor loss sees all of an anchor's categories together.
    """
    if by_anchor:
        chunks = _anchor_order(pairs, batch_size, rng)
        return [Batch(pairs.source, pairs=tuple(pairs.pairs[i] for i in c)) for c in chunks if len(c) >= 2]
    order = list(range(len(pairs.pairs)))
    rng.shuffle(order)
    out = []
    for start in range(0, len(order), batch_size):
        chunk = tuple(pairs.pairs[i] for i in order[start : start + batch_size])
        if len(chunk) >= 2:
            out.append(Batch(pairs.source, pairs=chunk))
    return out


def _sibling_order(synonyms: SynonymSet, draws: list[int], rng: random.Random, run: int) -> list[int]:
    """``draws`` (group indices, a group once per draw) reordered so that groups of one
    family come in runs of at most ``run``. A group's draws go to successive rounds (a
    round holds each group once), so its second draw comes a whole round after its
    first, except where one round ends and the next begins within a batch."""
    rounds: list[list[int]] = []
    seen: dict[int, int] = {}
    for g in draws:
        r = seen[g] = seen.get(g, -1) + 1
        if r == len(rounds):
            rounds.append([])
        rounds[r].append(g)
    order: list[int] = []
    for groups in rounds:
        by_family: dict[str, list[int]] = {}
        for g in groups:
            family = synonyms.families[g]
            by_family.setdefault(family or f"#{g}", []).append(g)
        chunks: list[list[int]] = []
        for members in by_family.values():
            rng.shuffle(members)
            chunks.extend(members[i : i + run] for i in range(0, len(members), run))
        rng.shuffle(chunks)
        order.extend(g for chunk in chunks for g in chunk)
    return order


def synonym_batches(synonyms: SynonymSet, batch_size: int, rng: random.Random, per_group: int = 2,
                    siblings: bool = False) -> list[Batch]:
    """Batches of ``per_group`` terms from each of ``batch_size // per_group`` groups.

    A group of weight ``w`` is drawn ``int(w)`` times per pass, and once more with
    chance ``w - int(w)`` (unweighted sets draw every group once, as before).
    ``siblings`` (for a set with families) puts groups of one family side by side, up
    to a quarter of a batch, so the miner finds negatives among sibling concepts.
    """
    order = list(range(len(synonyms.groups)))
    if synonyms.weights:
        order = [g for g, w in enumerate(synonyms.weights) for _ in range(int(w) + (w != int(w) and rng.random() < w - int(w)))]
    rng.shuffle(order)
    groups_per_batch = max(2, batch_size // per_group)
    if siblings and synonyms.families:
        order = _sibling_order(synonyms, order, rng, max(2, groups_per_batch // 4))
    out = []
    for start in range(0, len(order), groups_per_batch):
        terms: list[str] = []
        labels: list[int] = []
        chunk = order[start : start + groups_per_batch]
        for g in chunk:
            group = synonyms.groups[g]
            for term in rng.sample(group, min(per_group, len(group))):
                terms.append(term)
                labels.append(g)
        if len(chunk) >= 2:
            out.append(Batch(SYNONYMS, terms=tuple(terms), labels=tuple(labels)))
    return out


def plan_batches(
    pair_sets: Sequence[PairSet],
    synonyms: SynonymSet | None,
    *,
    batch_size: int,
    weights: dict[str, float],
    synonym_weight: float = 1.0,
    epochs: int = 1,
    seed: int = 0,
    max_steps: int = 0,
    by_anchor: bool = False,
    sibling_synonyms: bool = False,
) -> list[Batch]:
    """Weighted round-robin over the sources' loaders (synonyms being one of them).

    With equal weights the loaders take turns; a loader of weight 2 takes two turns
    for one of a loader of weight 1 (smooth weighted round-robin). A loader that
    runs out starts over, reshuffled, until every loader has made ``epochs`` passes.
    ``by_anchor`` batches pairs whole anchors at a time (for the rank loss);
    ``sibling_synonyms`` batches synonym groups of sibling concepts together.
    """
    rng = random.Random(f"{seed}|plan")
    makers: list[tuple[float, Callable[[], list[Batch]]]] = []
    for ps in pair_sets:
        w = weights.get(ps.source, 1.0)
        if w > 0 and len(ps.pairs) >= 2:
            makers.append((w, functools.partial(pair_batches, ps, batch_size, rng, by_anchor)))
    if synonyms is not None and len(synonyms.groups) >= 2 and synonym_weight > 0:
        makers.append((synonym_weight, functools.partial(synonym_batches, synonyms, batch_size, rng, 2, sibling_synonyms)))
    loaders = [make() for _, make in makers]
    keep = [i for i, batches in enumerate(loaders) if batches]
    makers, loaders = [makers[i] for i in keep], [loaders[i] for i in keep]
    position = [0] * len(loaders)
    passes = [0] * len(loaders)
    credit = [0.0] * len(loaders)
    total = sum(w for w, _ in makers)
    plan: list[Batch] = []
    while loaders and min(passes) < epochs and not (max_steps and len(plan) >= max_steps):
        for i, (w, _) in enumerate(makers):
            credit[i] += w
        i = max(range(len(loaders)), key=lambda j: credit[j])
        credit[i] -= total
        plan.append(loaders[i][position[i]])
        position[i] += 1
        if position[i] == len(loaders[i]):
            passes[i] += 1
            loaders[i], position[i] = makers[i][1](), 0
    return plan
