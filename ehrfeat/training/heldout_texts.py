"""Keep held-out texts out of training across sources, not only held-out codes.

The split holds out whole groups per system (an ICD-10-CM category, an integer
phecode, a MeSH descriptor), but the same text can live in several systems:
"Typhoid fever" is an ICD-10-CM name held out with ``A01`` and an ICD-9-CM name
trained with ``002``; a MeSH entry term of a held-out descriptor is often an NCIt or
Orphanet synonym of a concept that is not held out; an ICD code under a held-out
phecode is a PheCode evaluation anchor and, in its own tree, a training term. Each
such text is asked about by the evaluation and seen by training.

:func:`heldout_texts` gathers every text the evaluation may ask about (the terms of
every held-out concept, of every code rolling up to a held-out phecode, and of every
synonym group held out through an exact mapping), case-folded; :func:`drop_texts`
removes training pairs and synonym strings that carry one, counting each by reason.
Torch-free.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from ehrfeat.codes import PHECODE
from ehrfeat.training.pairs import PairSet
from ehrfeat.training.phecode_pairs import phecode_of
from ehrfeat.training.synonyms import SynonymSet
from ehrfeat.vocab import CodeMapping, Vocabulary
from ehrfeat.vocab.splits import HeldOutSplit

__all__ = ["drop_texts", "heldout_texts"]

PAIR_REASON = "pair with a held-out text (same text as a held-out concept of any source)"
SYNONYM_REASON = "synonym string that is a held-out text (same text as a held-out concept of any source)"
GROUP_REASON = "synonym group left with fewer than two strings after held-out texts"


def heldout_texts(
    vocabulary: Vocabulary,
    split: HeldOutSplit,
    *,
    mappings: Iterable[CodeMapping] = (),
    heldout_synonyms: SynonymSet | None = None,
) -> frozenset[str]:
    """Case-folded terms of every held-out concept, of every code under a held-out phecode, and of held-out synonym groups."""
    texts: set[str] = set()
    for concept in vocabulary:
        if split.is_heldout(concept.system, concept.code):
            texts.update(t.casefold() for t in concept.terms)
    for (system, code), phe in phecode_of(mappings).items():
        member = vocabulary.get(system, code) if split.is_heldout(PHECODE, phe) else None
        if member is not None:
            texts.update(t.casefold() for t in member.terms)
    if heldout_synonyms is not None:
        texts.update(t.casefold() for group in heldout_synonyms.groups for t in group)
    return frozenset(texts)


def _drop_pairs(pair_set: PairSet, texts: frozenset[str]) -> PairSet:
    kept = [p for p in pair_set.pairs if p.anchor.casefold() not in texts and p.other.casefold() not in texts]
    skipped = Counter(pair_set.skipped)
    if len(kept) < len(pair_set.pairs):
        skipped[PAIR_REASON] += len(pair_set.pairs) - len(kept)
    return replace(pair_set, pairs=kept, skipped=skipped)


def _drop_synonyms(synonyms: SynonymSet, texts: frozenset[str]) -> SynonymSet:
    out = SynonymSet(skipped=Counter(synonyms.skipped))
    for i, group in enumerate(synonyms.groups):
        kept = tuple(t for t in group if t.casefold() not in texts)
        if len(kept) < len(group):
            out.skipped[SYNONYM_REASON] += len(group) - len(kept)
        if len(kept) < 2:
            out.skipped[GROUP_REASON] += 1
            continue
        out.groups.append(kept)
        if synonyms.weights:
            out.weights.append(synonyms.weights[i])
        if synonyms.families:
            out.families.append(synonyms.families[i])
    return out


def drop_texts(pair_sets: Iterable[PairSet], synonyms: SynonymSet, texts: frozenset[str]) -> tuple[list[PairSet], SynonymSet]:
    """Training ``pair_sets`` and ``synonyms`` without the pairs and strings that carry one of ``texts``."""
    return [_drop_pairs(ps, texts) for ps in pair_sets], _drop_synonyms(synonyms, texts)
