"""What the linker does for clinical notes beyond the dictionary: sections, context, abbreviations, longer phrases.

:class:`ClinicalNotes` bundles, for one pipeline vocab and one code index:

- :class:`~ehrfeat.linking.context.ConTextAnnotator` (sections and the context flags),
- :class:`~ehrfeat.linking.abbreviations.ClinicalAbbreviations` (T2DM, HTN, ...),
- :meth:`ClinicalNotes.extend`: a dictionary match grows leftwards over the words
  before it that the index's terms use ("breast" + "cancer" -> "breast cancer",
  "pedal" + "edema"), at most :data:`MAX_EXTENSION` words, never over stop words,
  context triggers or words that name a person ("mother", "patient"); and rightwards
  over a few head words and stages ("diabetes mellitus", "kidney disease stage 3").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from ehrfeat.linking.abbreviations import ClinicalAbbreviations
from ehrfeat.linking.context import ConTextAnnotator, Section
from ehrfeat.linking.mentions import Abbreviation
from ehrfeat.linking.terms import STOP_WORDS

__all__ = ["MAX_EXTENSION", "ClinicalNotes"]

MAX_EXTENSION = 2
_AFTER = frozenset({"mellitus", "disease", "disorder", "syndrome", "failure", "infection", "insufficiency"})
_STAGE = re.compile(r"(?:\d[a-z]?|i{1,3}v?|iv|v)")
_WORD = re.compile(r"[a-z]{3,}")
_NEVER = frozenset(
    [
        "patient",
        "pt",
        "history",
        "hx",
        "family",
        "known",
        "case",
        "mother",
        "father",
        "sister",
        "brother",
        "son",
        "daughter",
        "wife",
        "husband",
        "aunt",
        "uncle",
        "grandmother",
        "grandfather",
        "parents",
        "denies",
        "denied",
        "reports",
        "noted",
        "seen",
        "found",
        "had",
        "has",
        "have",
        "with",
        "without",
        "possible",
        "probable",
        "likely",
        "suspected",
        "rule",
        "ruled",
        "negative",
        "positive",
        "evidence",
        "sign",
        "signs",
        "symptoms",
        "complains",
        "complaint",
        "presents",
        "presented",
        "status",
        "post",
        "prior",
        "previous",
        "new",
        "old",
        "mild",
        "moderate",
        "early",
        "subtle",
        "small",
        "large",
        "lower",
        "upper",
        "lobe",
        "acquired",
        "community",
        "healed",
        "worsening",
        "recent",
        "multiple",
    ]
)


class ClinicalNotes:
    """Sections, context flags, clinical abbreviations and longer phrases for the linker."""

    def __init__(self, vocab: Vocab, terms: Iterable[str]) -> None:
        self.context = ConTextAnnotator(vocab)
        self.abbreviations = ClinicalAbbreviations(vocab)
        trigger_words = {w for rule in self.context.rules if rule.pattern is None for w in rule.literal.lower().split()}
        words = {w for term in terms for w in _WORD.findall(term.lower())}
        self.words = frozenset(words - STOP_WORDS - _NEVER - trigger_words)

    def sections(self, doc: Doc) -> list[Section]:
        return self.context.sections(doc)

    def find_abbreviations(self, doc: Doc, sections: Sequence[Section]) -> list[Abbreviation]:
        return self.abbreviations(doc, sections)

    def annotate(self, doc: Doc, mentions: Sequence[Span], sections: Sequence[Section]) -> None:
        self.context(doc, mentions, sections)

    def extend(self, doc: Doc, spans: Sequence[Span], taken: set[int]) -> list[Span]:
        """``spans`` grown over index words before them, and over "mellitus", "stage 3" and such after them
        (tokens in ``taken`` belong to other mentions)."""
        out = []
        for span in spans:
            start, end = span.start, span.end
            while (
                span.start - start < MAX_EXTENSION
                and start > 0
                and start - 1 not in taken
                and doc[start - 1].lower_ in self.words
            ):
                start -= 1
            while end < len(doc) and end not in taken and doc[end].lower_ in _AFTER:
                end += 1
            if (
                end + 1 < len(doc)
                and doc[end].lower_ in ("stage", "type", "grade")
                and _STAGE.fullmatch(doc[end + 1].lower_)
            ):
                end += 2
            out.append(span if (start, end) == (span.start, span.end) else Span(doc, start, end, label=span.label))
        return out
