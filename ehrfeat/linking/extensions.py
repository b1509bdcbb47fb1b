"""The ``Span`` extensions of linked mentions: ``ehrfeat_vector`` and ``ehrfeat_codes``.

``Span._.ehrfeat_codes`` is a list of :class:`LinkedCode` kept in ``doc.user_data``
(so docs from worker processes keep it); the context flags are in
:mod:`ehrfeat.linking.context`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from spacy.tokens import Span

__all__ = ["LinkedCode", "register_extensions"]


class LinkedCode(NamedTuple):
    """One candidate code of a mention."""

    system: str
    code: str
    description: str
    score: float


def _codes_key(span: Span) -> tuple[str, str, int, int]:
    return ("._.", "ehrfeat_codes", span.start_char, span.end_char)


def _get_codes(span: Span) -> list[LinkedCode] | None:
    user_data: dict[Any, Any] = span.doc.user_data
    raw = user_data.get(_codes_key(span))
    # docs coming back from worker processes have lists where tuples were: rebuild them
    return None if raw is None else [LinkedCode(str(s), str(c), str(d), float(x)) for s, c, d, x in raw]


def _set_codes(span: Span, value: Sequence[Sequence[Any]]) -> None:
    user_data: dict[Any, Any] = span.doc.user_data
    user_data[_codes_key(span)] = [tuple(v) for v in value]


def register_extensions() -> None:
    """Add ``Span._.ehrfeat_vector`` and ``Span._.ehrfeat_codes`` (idempotent)."""
    if not Span.has_extension("ehrfeat_vector"):
        Span.set_extension("ehrfeat_vector", default=None)
    if not Span.has_extension("ehrfeat_codes"):
        Span.set_extension("ehrfeat_codes", getter=_get_codes, setter=_set_codes)


register_extensions()
