"""Reranking a mention's candidate codes: exact name and inclusion-term matches first, then cosine.

A cosine nearest neighbour of "congestive heart failure" may be I50.3 (diastolic
heart failure); ICD-10-CM lists "Congestive heart failure NOS" as an inclusion
term of I50.9. :class:`TermCodes` maps the normalised forms (lower case,
punctuation and NOS/unspecified dropped, see :func:`ehrfeat.linking.terms.term_variants`)
of every code name, synonym and inclusion term to the index rows of their codes;
a code not in the index (a 5-character code under a 4-character index) maps to
its nearest ancestor that is. :func:`rerank` puts the rows whose terms match the
mention exactly first (best cosine first), then the cosine top-k; the scores
stay cosines. No spaCy import here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ehrfeat.codes import Code
from ehrfeat.linking.code_index import LinkingIndex
from ehrfeat.linking.terms import term_variants, usable_term

__all__ = ["TermCodes", "normalise", "rerank", "term_codes"]

_NON_WORD = re.compile(r"[^\w]+")
_UNSPECIFIED = re.compile(r",?\s+(?:(?:of\s+)?unspecified\s+(?:organism|site|type|part|cause|part of [\w ]+)|site not specified)$", re.IGNORECASE)
_COMPLEX = re.compile(r",|\b(?:of|in|with|without|due to|and other|or)\b", re.IGNORECASE)
_OPTIONAL = frozenset({"mellitus"})  # "diabetes NOS" (E11) is what notes call "diabetes mellitus"


def normalise(text: str) -> str:
    """Lower case, punctuation to spaces, spaces collapsed, "mellitus" dropped: the key of an exact match."""
    return " ".join(w for w in _NON_WORD.sub(" ", text.lower()).split() if w not in _OPTIONAL)


class TermCodes:
    """Normalised term -> index rows of the codes it names."""

    def __init__(self, index: LinkingIndex, extra: Iterable[tuple[Code, str]] = ()) -> None:
        self._row_of = {code: row for row, code in enumerate(index.embeddings.codes)}
        self._rows: dict[str, list[int]] = {}
        self.terms: dict[str, None] = {}  # the variants, as written: more dictionary terms for the matcher
        for row, text in enumerate(index.embeddings.texts):
            self._add(text, row)
        for code, term in extra:
            found = self.row_of(code)
            if found is not None:
                self._add(term, found)

    def _add(self, term: str, row: int) -> None:
        for variant in _variants(term):
            rows = self._rows.setdefault(normalise(variant), [])
            if row not in rows:
                rows.append(row)
            if usable_term(variant):
                self.terms.setdefault(variant, None)

    def row_of(self, code: Code) -> int | None:
        """The index row of ``code`` or of its nearest ancestor in the index (by dropping characters)."""
        text = code.code
        while text:
            row = self._row_of.get(Code(code.system, text))
            if row is not None:
                return row
            text = text[:-1].rstrip(".")
        return None

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self, mention: str) -> list[int]:
        return self._rows.get(normalise(mention), [])


def term_codes(index: LinkingIndex) -> TermCodes:
    """The lookup of ``index``: its code names, plus the names, synonyms and inclusion terms of its
    built-in systems' codes (ICD-10-CM, HPO) at every depth (mapped to the index's ancestors)."""
    from ehrfeat.linking.sources import BUILTIN_SYSTEMS

    systems = [s for s in index.systems if s in BUILTIN_SYSTEMS]
    vocabulary = _builtin(tuple(systems)) if systems else ()
    return TermCodes(index, ((concept.ref, term) for concept in vocabulary for term in concept.terms))


@functools.cache
def _builtin(systems: tuple[str, ...]) -> Any:
    from ehrfeat.linking.sources import builtin_vocabulary

    return builtin_vocabulary(list(systems), max_code_length=7)


def _variants(term: str) -> list[str]:
    """:func:`term_variants`, plus "X, unspecified organism|site" -> "X" and "A and B" -> "A", "B" for short names."""
    out = term_variants(term)
    for variant in list(out):
        shorter = _UNSPECIFIED.sub("", variant)
        if shorter != variant and shorter not in out:
            out.append(shorter)
    for variant in list(out):
        if " and " in variant and not _COMPLEX.search(variant):
            out.extend(part.strip() for part in variant.split(" and ") if len(part.strip()) >= 5)
    return out


def rerank(
    exact: Sequence[int], scores: np.ndarray, rows: np.ndarray, vector: np.ndarray, matrix: np.ndarray, k: int
) -> list[tuple[int, float]]:
    """``(row, cosine)`` of the ``k`` best candidates: the exact matches (best cosine first), then by cosine."""
    first = sorted(((int(r), float(matrix[r] @ vector)) for r in exact), key=lambda x: -x[1])
    seen = {r for r, _ in first}
    rest = [(int(r), float(s)) for s, r in zip(scores, rows, strict=True) if int(r) not in seen and np.isfinite(s)]
    return (first + rest)[:k]
