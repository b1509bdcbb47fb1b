"""Dictionary terms: the forms of code names and synonyms a note is likely to use.

Vocabulary strings are written for coders, not clinicians: "Essential (primary)
hypertension", "Headache, unspecified", "Facial pain NOS". :func:`term_variants`
adds shorter forms (parentheticals dropped; NOS, NEC, unspecified and "without
complications" dropped) and :func:`usable_term` rejects strings that would match
ordinary words. No spaCy import here: index building does not need it.
"""

from __future__ import annotations

import re

__all__ = ["MAX_TERM_TOKENS", "STOP_WORDS", "term_variants", "usable_term"]

_STOP_TEXT = """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers him his how i if in into is it its itself just me more most my no nor not now of off on once only or other
    our out over own same she should so some such than that the their them then there these they this those through
    to too under until up very was we were what when where which while who whom why will with you your left right
    other others unspecified specified nos nec type"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
MAX_TERM_TOKENS = 12  # longer vocabulary strings never occur verbatim in notes

_PARENS = re.compile(r"\s*[(\[][^()\[\]]*[)\]]")
_SUFFIXES = re.compile(
    r"(?:,?\s+(?:NOS|NEC)|,\s*(?:unspecified|not otherwise specified|not elsewhere classified)"
    r"|\s+without (?:complications?|mention of complications?))\s*$",
    re.IGNORECASE,
)
_PREFIXES = re.compile(r"^(?:unspecified)\s+", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_]{2,}")  # two letters in a row (any script)


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip(" ,;:-")


def term_variants(term: str) -> list[str]:
    """``term`` and the shorter forms a note is likely to use, first the term itself.

    >>> term_variants("Essential (primary) hypertension")
    ['Essential (primary) hypertension', 'Essential hypertension']
    >>> term_variants("Headache, unspecified")
    ['Headache, unspecified', 'Headache']
    """
    out = [_clean(term)]
    todo = [out[0]]
    while todo:
        current = todo.pop()
        for shorter in (_PARENS.sub("", current), _SUFFIXES.sub("", current), _PREFIXES.sub("", current)):
            shorter = _clean(shorter)
            if shorter and shorter not in out:
                out.append(shorter)
                todo.append(shorter)
    return [t for t in out if t]


def usable_term(term: str) -> bool:
    """False for strings that would match ordinary words: stop words only, no word, one or two letters."""
    words = term.lower().split()
    if not words or len(words) > MAX_TERM_TOKENS or len(term) < 3:
        return False
    if not _WORD.search(term):
        return False
    return not all(w.strip(",.;:()") in STOP_WORDS for w in words)


