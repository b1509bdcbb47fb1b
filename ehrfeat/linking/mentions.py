"""Finding mentions: a case-insensitive dictionary matcher and abbreviation expansion.

:class:`DictionaryMatcher` finds the index's terms (names, synonyms and their
variants, see :mod:`ehrfeat.linking.terms`) with spaCy's ``PhraseMatcher`` on
lower-cased tokens; the longest match wins and mentions never overlap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans
from spacy.vocab import Vocab

from ehrfeat.linking.terms import usable_term

__all__ = ["Abbreviation", "DictionaryMatcher", "expand_abbreviations", "scispacy_detector"]

class DictionaryMatcher:
    """Case-insensitive phrase matching of vocabulary terms; longest match wins, no overlaps."""

    def __init__(self, vocab: Vocab, terms: Iterable[str], label: str = "ENTITY") -> None:
        self.label = label
        self.terms = tuple(dict.fromkeys(t for t in terms if usable_term(t)))
        self._matcher = PhraseMatcher(vocab, attr="LOWER")
        tokenizer = _blank_tokenizer(vocab)
        for start in range(0, len(self.terms), 1000):
            self._matcher.add(label, list(tokenizer.pipe(self.terms[start : start + 1000])))

    def __len__(self) -> int:
        return len(self.terms)

    def __call__(self, doc: Doc) -> list[Span]:
        spans = [Span(doc, start, end, label=self.label) for _, start, end in self._matcher(doc)]
        return sorted(filter_spans(spans), key=lambda s: s.start)


def _blank_tokenizer(vocab: Vocab):  # type: ignore[no-untyped-def]
    """The tokenizer of the pipeline's language, sharing its vocab (patterns must use the same one)."""
    from spacy.util import get_lang_class

    lang = vocab.lang or "en"
    try:
        nlp = get_lang_class(lang)(vocab=vocab)
    except (ImportError, KeyError):  # an unknown language code: English rules are the safe default
        nlp = get_lang_class("en")(vocab=vocab)
    return nlp.tokenizer


@dataclass(frozen=True)
class Abbreviation:
    """A short form in the text and the long form it stands for (character offsets)."""

    start_char: int
    end_char: int
    long_form: str


def expand_abbreviations(
    doc: Doc, mentions: Sequence[Span], abbreviations: Sequence[Abbreviation], label: str,
    *, always: Sequence[Abbreviation] = (),
) -> list[tuple[Span, str]]:
    """Mentions with the text to encode: a short form's long form, else the span's own text.

    Short forms that are not mentions yet become mentions when their long form is one
    (so "T2DM" anywhere in the note links like "type 2 diabetes mellitus"); those in
    ``always`` (clinical abbreviations, see :mod:`ehrfeat.linking.abbreviations`) become
    mentions where they overlap no mention.
    """
    long_forms = {(a.start_char, a.end_char): a.long_form for a in abbreviations}
    long_forms.update({(a.start_char, a.end_char): a.long_form for a in always})
    mention_texts = {m.text.lower() for m in mentions}
    taken = {i for m in mentions for i in range(m.start, m.end)}
    extra = []
    for abbr in [*abbreviations, *always]:
        span = doc.char_span(abbr.start_char, abbr.end_char, label=label, alignment_mode="strict")
        if span is None:
            continue
        if abbr.long_form.lower() in mention_texts or (abbr in always and not taken.intersection(range(span.start, span.end))):
            extra.append(span)
    spans = sorted(filter_spans([*mentions, *extra]), key=lambda s: s.start) if extra else list(mentions)
    return [(s, long_forms.get((s.start_char, s.end_char), s.text)) for s in spans]


def scispacy_detector(vocab: Vocab) -> Callable[[Doc], list[Abbreviation]]:
    """scispaCy's ``AbbreviationDetector`` when scispaCy is installed, else a detector that finds none."""
    try:
        from scispacy.abbreviation import AbbreviationDetector
    except ImportError:
        return lambda doc: []

    class _Holder:
        def __init__(self, vocab: Vocab) -> None:
            self.vocab = vocab

    detector = AbbreviationDetector(_Holder(vocab))

    def find(doc: Doc) -> list[Abbreviation]:
        detector(doc)
        return [Abbreviation(s.start_char, s.end_char, s._.long_form.text) for s in doc._.abbreviations]

    return find
