"""Notes longer than spaCy's limit, split into windows that are linked one by one.

spaCy refuses a text over ``nlp.max_length`` characters (1,000,000 by default: its
parser and NER need about 1 GB per 100,000 characters). :func:`split_windows` cuts
such a note into consecutive windows of at most ``limit`` characters, each ending at
a sentence end (``.``, ``!``, ``?`` or a line break, then white space) in its second
half where there is one, else at white space, else at ``limit`` itself. The windows
cover the note exactly, so a mention at ``start`` in a window starting at ``base`` is
at ``base + start`` in the note.
"""

from __future__ import annotations

import re

__all__ = ["split_windows"]

_SENTENCE_END = re.compile(r"(?:[.!?]\s+|\n\s*)")
_SPACE = re.compile(r"\s+")


def _cut(text: str, start: int, limit: int) -> int:
    """The end of the window starting at ``start``: the last sentence end, or space, in its second half."""
    end = start + limit
    if end >= len(text):
        return len(text)
    floor = start + limit // 2
    for pattern in (_SENTENCE_END, _SPACE):
        last = None
        for match in pattern.finditer(text, floor, end):
            last = match.end()
        if last is not None and last > start:
            return last
    return end


def split_windows(text: str, limit: int) -> list[tuple[int, str]]:
    """``(start offset, window text)`` pairs covering ``text`` in order, each at most ``limit`` characters."""
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    windows: list[tuple[int, str]] = []
    start = 0
    while start < len(text):
        end = _cut(text, start, limit)
        windows.append((start, text[start:end]))
        start = end
    return windows
