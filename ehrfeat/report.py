"""Run summaries: ``label: value`` lines and reason counts, written one way for every command.

``embed-codes`` (databases and MEDS), ``link-notes`` and ``patient-vectors`` print a summary
of what a run did; each report's ``lines()`` builds it with a :class:`Summary`, so labels line
up and skipped rows read the same everywhere: ``count  reason  e.g. example, example``
(examples from :class:`ehrfeat.reasons.ReasonCounter`). ``--report FILE`` writes the report as
JSON with :func:`write_json`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ehrfeat.errors import InputError
from ehrfeat.paths import atomic_file

__all__ = ["Summary", "reason_lines", "write_json"]


def reason_lines(
    counts: Mapping[str, int],
    examples: Mapping[str, Sequence[str]] | None = None,
    *,
    width: int = 6,
    tag: str = "",
    by_count: bool = False,
    details: Mapping[str, str] | None = None,
) -> list[str]:
    """One line per reason: ``  [tag ]count  reason[  (detail)][  e.g. a, b]``.

    Ordered by reason, or by count (largest first, ties as given) with ``by_count``; the count is
    right-aligned in ``width`` characters; examples are shown where the reason has any.
    """
    items: Iterable[tuple[str, int]] = (
        sorted(counts.items(), key=lambda kv: -kv[1]) if by_count else sorted(counts.items())
    )
    prefix = f"  {tag} " if tag else "  "
    out = []
    for reason, n in items:
        line = f"{prefix}{n:>{width}}  {reason}"
        if details and reason in details:
            line += f"  ({details[reason]})"
        if examples and examples.get(reason):
            line += f"  e.g. {', '.join(examples[reason])}"
        out.append(line)
    return out


class Summary:
    """The lines of one run's summary; ``field`` pads labels to ``width`` so the values line up."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.lines: list[str] = []

    def field(self, label: str, value: object) -> Summary:
        """``label:`` padded to the summary's width, then ``value``."""
        head = f"{label}:"
        self.lines.append(f"{head:<{self.width - 1}} {value}")
        return self

    def fields(self, pairs: Iterable[tuple[str, object]]) -> Summary:
        """:meth:`field` for each ``(label, value)``."""
        for label, value in pairs:
            self.field(label, value)
        return self

    def text(self, *lines: str) -> Summary:
        """Lines as they are (headings, notes, lines another report made)."""
        self.lines.extend(lines)
        return self

    def reasons(
        self, counts: Mapping[str, int], examples: Mapping[str, Sequence[str]] | None = None, *,
        heading: str | None = None, width: int = 6, tag: str = "", by_count: bool = False,
        details: Mapping[str, str] | None = None,
    ) -> Summary:
        """:func:`reason_lines` of ``counts``, under ``heading`` when there are any."""
        if heading is not None and counts:
            self.lines.append(heading)
        self.lines.extend(reason_lines(counts, examples, width=width, tag=tag, by_count=by_count, details=details))
        return self


def write_json(path: str | Path, data: object, code: str) -> None:
    """``data`` as indented JSON in ``path`` (``--report FILE``); an unwritable path is error ``code``.

    Written beside ``path`` and renamed over it, so a run killed while writing leaves the
    previous report whole, never half a file.
    """
    try:
        with atomic_file(path) as tmp:
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise InputError(f"cannot write the report to {path}: {exc.strerror}",
                         fix="give --report a file in a folder that exists and is writable", code=code) from exc
