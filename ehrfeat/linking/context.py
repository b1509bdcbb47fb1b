"""ConText on linked mentions: negated, historical, hypothetical, uncertain and family flags, and sections.

The linker (setting ``context``, on by default) sets on every mention:

==============================  ===============================================================
``Span._.ehrfeat_negated``      ``True`` when a negation trigger's scope covers it ("denies", "no")
``Span._.ehrfeat_historical``   a history trigger ("history of", "s/p") or a past-history section
``Span._.ehrfeat_hypothetical`` a hypothetical trigger ("return if", "risk of")
``Span._.ehrfeat_uncertain``    a possibility trigger ("possible", "rule out", "suspicious for")
``Span._.ehrfeat_family``       a family member is the experiencer ("mother had", "Family history:")
``Span._.ehrfeat_experiencer``  ``"family"`` or ``"patient"`` (read-only, from the flag above)
``Span._.ehrfeat_section``      the section category the mention is in ("family_history", ...), or None
==============================  ===============================================================

The algorithm is ConText (Harkema et al., J Biomed Inform 2009) as medspaCy runs
it: each trigger (:mod:`ehrfeat.linking.context_rules`) modifies the mentions in
its scope, the rest of its sentence (``FORWARD``) or the sentence before it
(``BACKWARD``), cut short by a terminating trigger of the same category; pseudo
triggers ("no increase") hide the real ones inside them. Sentences end at
``. ! ? ;`` and line breaks (or at the doc's own sentence boundaries when a
parser or sentencizer ran). Section headers are the lines starting with a known
header and a colon ("Family history:", "PMH:", "Allergies:", "PE:"); a section
runs to the next header, and family-history and past-medical-history sections
set the family and historical flags of their mentions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from ehrfeat.linking.context_rules import ContextRule, context_rules, section_headers
from ehrfeat.linking.mentions import _blank_tokenizer

__all__ = ["FLAGS", "ConTextAnnotator", "Section", "register_context_extensions"]

FLAGS = {  # ConText category -> the Span extension it sets
    "NEGATED_EXISTENCE": "ehrfeat_negated",
    "HISTORICAL": "ehrfeat_historical",
    "HYPOTHETICAL": "ehrfeat_hypothetical",
    "POSSIBLE_EXISTENCE": "ehrfeat_uncertain",
    "FAMILY": "ehrfeat_family",
}
SECTION_FLAGS = {"family_history": "ehrfeat_family", "past_medical_history": "ehrfeat_historical"}
_SENTENCE_END = frozenset(".!?;")


def register_context_extensions() -> None:
    """Add the ``Span._.ehrfeat_*`` context extensions (idempotent)."""
    for name in (*FLAGS.values(), "ehrfeat_section"):
        if not Span.has_extension(name):
            Span.set_extension(name, default=None)
    if not Span.has_extension("ehrfeat_experiencer"):
        Span.set_extension("ehrfeat_experiencer", getter=lambda span: "family" if span._.ehrfeat_family else "patient")


register_context_extensions()


@dataclass(frozen=True)
class Section:
    """A note section: its category and the characters it covers (header included)."""

    category: str
    start_char: int
    end_char: int


@dataclass(frozen=True)
class _Modifier:
    rule: ContextRule
    start: int
    end: int


class ConTextAnnotator:
    """Finds triggers and sections in a doc and sets the context flags of given mentions."""

    def __init__(self, vocab: Vocab, rules: Sequence[ContextRule] | None = None) -> None:
        self.rules = tuple(rules if rules is not None else context_rules())
        self._matcher = PhraseMatcher(vocab, attr="LOWER")  # the rules expanded to phrases: fast on long notes
        tokenizer = _blank_tokenizer(vocab)
        for i, rule in enumerate(self.rules):
            phrases = rule.phrases(lambda text: [t.text for t in tokenizer(text)])
            self._matcher.add(f"ehrfeat_context_{i}", [Doc(vocab, words=list(words)) for words in phrases])
        self._rule_of = {vocab.strings[f"ehrfeat_context_{i}"]: rule for i, rule in enumerate(self.rules)}
        headers = section_headers()
        self._categories = headers
        alternatives = "|".join(re.escape(h) for h in sorted(headers, key=len, reverse=True))
        self._headers = re.compile(rf"(?im)(?:^|(?<=\. )|(?<=\.  ))[ \t]*({alternatives})[ \t]*:")

    def sections(self, doc: Doc) -> list[Section]:
        """The sections of ``doc``, in order (text before the first header is in no section)."""
        found = [(m.start(), self._categories[m.group(1).lower()]) for m in self._headers.finditer(doc.text)]
        ends = [start for start, _ in found[1:]] + [len(doc.text)] if found else []
        return [Section(category, start, end) for (start, category), end in zip(found, ends, strict=True)]

    def __call__(self, doc: Doc, mentions: Sequence[Span], sections: Sequence[Section] | None = None) -> None:
        """Set every context extension of ``mentions`` (each ``True`` or ``False``, never ``None``)."""
        if not mentions:
            return
        sections = self.sections(doc) if sections is None else sections
        sentence = _sentence_ids(doc)
        modifiers = self._modifiers(doc)
        for span in mentions:
            flags = dict.fromkeys(FLAGS.values(), False)
            section = _section_of(sections, span.start_char)
            if section is not None and section in SECTION_FLAGS:
                flags[SECTION_FLAGS[section]] = True
            for category in _categories_in_scope(span, modifiers, sentence):
                flags[FLAGS[category]] = True
            for name, value in flags.items():
                setattr(span._, name, value)
            span._.ehrfeat_section = section

    def _modifiers(self, doc: Doc) -> list[_Modifier]:
        found = [_Modifier(self._rule_of[match_id], start, end) for match_id, start, end in self._matcher(doc)]
        found.sort(key=lambda m: (-(m.end - m.start), -m.start))  # ties: the later ("is negative for")
        taken: dict[str, set[int]] = {}
        kept = []
        for m in found:  # within a category the longest trigger wins; pseudo triggers hide those inside them
            tokens = taken.setdefault(m.rule.category, set())
            if not tokens.intersection(range(m.start, m.end)):
                kept.append(m)
                tokens.update(range(m.start, m.end))
        return sorted((m for m in kept if m.rule.direction != "PSEUDO"), key=lambda m: m.start)


def _section_of(sections: Sequence[Section], start_char: int) -> str | None:
    for section in sections:
        if section.start_char <= start_char < section.end_char:
            return section.category
    return None


def _sentence_ids(doc: Doc) -> list[int]:
    ids, current = [], 0
    has_sents = doc.has_annotation("SENT_START")
    for token in doc:
        if has_sents and token.is_sent_start and token.i > 0:
            current += 1
        ids.append(current)
        if not has_sents and (token.text in _SENTENCE_END or (token.is_space and "\n" in token.text)):
            current += 1
    return ids


def _categories_in_scope(span: Span, modifiers: Sequence[_Modifier], sentence: list[int]) -> set[str]:
    out: set[str] = set()
    sid = sentence[span.start]
    for m in modifiers:
        rule = m.rule
        if rule.direction == "TERMINATE" or rule.category in out or sentence[m.start] != sid:
            continue
        if m.start < span.end and span.start < m.end:
            continue  # the trigger is part of the mention
        forward = m.end <= span.start and rule.direction in ("FORWARD", "BIDIRECTIONAL")
        backward = span.end <= m.start and rule.direction in ("BACKWARD", "BIDIRECTIONAL")
        if (forward and not _terminated(modifiers, rule.category, m.end, span.start)) or (
            backward and not _terminated(modifiers, rule.category, span.end, m.start)
        ):
            out.add(rule.category)
    return out


def _terminated(modifiers: Sequence[_Modifier], category: str, start: int, end: int) -> bool:
    """True when a terminating trigger of ``category`` lies between tokens ``start`` and ``end``."""
    return any(m.rule.direction == "TERMINATE" and m.rule.category == category and start <= m.start < end for m in modifiers)
