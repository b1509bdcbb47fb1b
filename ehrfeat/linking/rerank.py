"""Reranking a mention's candidate codes: exact name and inclusion-term matches first, then cosine plus word overlap.

A cosine nearest neighbour of "congestive heart failure" may be I50.3 (diastolic
heart failure); ICD-10-CM lists "Congestive heart failure NOS" as an inclusion
term of I50.9. :class:`TermCodes` maps the normalised forms (lower case,
punctuation and NOS/unspecified dropped, see :func:`ehrfeat.linking.terms.term_variants`)
of every code name, synonym and inclusion term to the index rows of their codes;
a code not in the index (a 5-character code under a 4-character index) maps to
its nearest ancestor that is. :func:`rerank` puts the rows whose terms match the
mention exactly first (best cosine first); the other candidates (the cosine top
:data:`RERANK_POOL`) are ordered by cosine plus :data:`OVERLAP_WEIGHT` times their
word overlap with the mention (:meth:`TermCodes.overlap`: the best IDF-weighted
Dice overlap of the mention's words with one of the code's names and terms, stop
words, NOS and "unspecified" left out), so a mention whose wording the dictionary
does not hold still goes to the code whose terms share its distinctive words.
The scores stay cosines. The pool and weight were chosen on a development split of
the dictionary's own inclusion terms (``benchmarks/inclusion_terms.py --tune``), never
on the held-out terms or the annotated sentences; on that split, crude stemming and
scoring by the share of the mention's words covered instead of Dice moved acc@1 by
less than 0.005 either way, so neither is used. No spaCy import here.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from ehrfeat.codes import Code
from ehrfeat.linking.code_index import LinkingIndex
from ehrfeat.linking.terms import STOP_WORDS, term_variants, usable_term

__all__ = ["OVERLAP_WEIGHT", "RERANK_POOL", "TermCodes", "normalise", "rerank", "term_codes", "words"]

_NON_WORD = re.compile(r"[^\w]+")
_UNSPECIFIED = re.compile(r",?\s+(?:(?:of\s+)?unspecified\s+(?:organism|site|type|part|cause|part of [\w ]+)|site not specified)$", re.IGNORECASE)
_COMPLEX = re.compile(r",|\b(?:of|in|with|without|due to|and other|or)\b", re.IGNORECASE)
_OPTIONAL = frozenset({"mellitus"})  # "diabetes NOS" (E11) is what notes call "diabetes mellitus"
_TOKEN = re.compile(r"[a-z0-9]+")
_UNWEIGHTED = STOP_WORDS | _OPTIONAL | {"nos", "nec"}
RERANK_POOL = 50  # cosine candidates the reranker reorders (dev: 100 gains 0.005 acc@1 at twice the overlap work)
OVERLAP_WEIGHT = 0.75  # cosine + OVERLAP_WEIGHT * word overlap (the best weight at pool 50 on the dev split)


def words(text: str) -> frozenset[str]:
    """The words of ``text`` that tell codes apart: lower case, stop words, NOS and "unspecified" left out."""
    return frozenset(w for w in _TOKEN.findall(text.lower()) if w not in _UNWEIGHTED)


def normalise(text: str) -> str:
    """Lower case, punctuation to spaces, spaces collapsed, "mellitus" dropped: the key of an exact match."""
    return " ".join(w for w in _NON_WORD.sub(" ", text.lower()).split() if w not in _OPTIONAL)


class TermCodes:
    """Normalised term -> index rows of the codes it names."""

    def __init__(self, index: LinkingIndex, extra: Iterable[tuple[Code, str]] = ()) -> None:
        self._row_of = {code: row for row, code in enumerate(index.embeddings.codes)}
        self._rows: dict[str, list[int]] = {}
        self.terms: dict[str, None] = {}  # the variants, as written: more dictionary terms for the matcher
        self._words: dict[int, set[frozenset[str]]] = {}  # row -> the word sets of its names and terms
        for row, text in enumerate(index.embeddings.texts):
            self._add(text, row)
        for code, term in extra:
            found = self.row_of(code)
            if found is not None:
                self._add(term, found)
        self._postings: dict[int, dict[str, list[int]]] | None = None

    def _add(self, term: str, row: int) -> None:
        self._words.setdefault(row, set()).add(words(term))
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

    def prepare(self) -> TermCodes:
        """Build the word postings :meth:`overlap` reads now (about a second for ICD-10-CM) rather than on the first mention."""
        self._index_words()
        return self

    def _index_words(self) -> dict[int, dict[str, list[int]]]:
        """Per row, word -> its term sets holding the word; with the IDF of each word over rows."""
        if self._postings is None:
            df = Counter(w for sets in self._words.values() for w in set().union(*sets))
            n = max(len(self._words), 1)
            self._idf = {w: math.log(n / (1 + d)) + 1.0 for w, d in df.items()}
            self._weights: list[float] = []
            postings: dict[int, dict[str, list[int]]] = {}
            for row, sets in self._words.items():
                by_word: dict[str, list[int]] = {}
                for term_words in sets:
                    if term_words:
                        for w in term_words:
                            by_word.setdefault(w, []).append(len(self._weights))
                        self._weights.append(sum(self._idf[w] for w in term_words))
                postings[row] = by_word
            self._postings = postings
        return self._postings

    def overlap(self, mention: str, rows: Iterable[int]) -> list[float]:
        """For each row, the best IDF-weighted Dice overlap of the mention's words with one of the row's terms (0..1)."""
        postings = self._index_words()
        mention_words = words(mention)
        unseen = math.log(max(len(self._words), 1)) + 1.0
        weight = {w: self._idf.get(w, unseen) for w in mention_words}
        total = sum(weight.values())
        out = []
        for row in rows:
            shared: dict[int, float] = {}
            by_word = postings.get(int(row), {})
            for w in mention_words:
                for term in by_word.get(w, ()):
                    shared[term] = shared.get(term, 0.0) + weight[w]
            out.append(max((2 * v / (total + self._weights[t]) for t, v in shared.items()), default=0.0))
        return out


def term_codes(index: LinkingIndex) -> TermCodes:
    """The lookup of ``index``: its code names, plus the names, synonyms and inclusion terms of its
    built-in systems' codes (ICD-10-CM, HPO) at every depth (mapped to the index's ancestors)."""
    from ehrfeat.linking.sources import BUILTIN_SYSTEMS, builtin_vocabulary

    systems = [s for s in index.systems if s in BUILTIN_SYSTEMS]
    vocabulary = builtin_vocabulary(systems, max_code_length=7) if systems else ()  # read once per process
    return TermCodes(index, ((concept.ref, term) for concept in vocabulary for term in concept.terms))


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
    exact: Sequence[int], scores: np.ndarray, rows: np.ndarray, vector: np.ndarray, matrix: np.ndarray, k: int,
    overlap: Sequence[float] | None = None, weight: float = OVERLAP_WEIGHT,
) -> list[tuple[int, float]]:
    """``(row, cosine)`` of the ``k`` best candidates: the exact matches (best cosine first), then by cosine
    (plus ``weight`` times ``overlap``, the word overlap of each of ``rows`` with the mention, when given)."""
    first = sorted(((int(r), float(matrix[r] @ vector)) for r in exact), key=lambda x: -x[1])
    seen = {r for r, _ in first}
    rest = [(int(r), float(s), float(s) + (weight * overlap[i] if overlap is not None else 0.0))
            for i, (s, r) in enumerate(zip(scores, rows, strict=True)) if int(r) not in seen and np.isfinite(s)]
    rest.sort(key=lambda x: -x[2])
    return (first + [(r, s) for r, s, _ in rest])[:k]
