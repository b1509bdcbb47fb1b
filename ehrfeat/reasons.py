"""Counting what could not be used: reason -> count, with up to five examples each.

Readers (vocabularies, patient databases, MEDS shards) and ``embed-codes`` all report
skipped rows and unresolved codes this one way, so every report shows the same shape.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import MutableMapping

__all__ = ["MAX_EXAMPLES", "ReasonCounter", "keep_example"]

#: Examples kept per reason.
MAX_EXAMPLES = 5


def keep_example(examples: MutableMapping[str, list[str]], reason: str, value: object) -> None:
    """Add ``value`` (as text) to the examples of ``reason`` unless it is there or there are enough."""
    seen = examples.setdefault(reason, [])
    text = str(value)
    if len(seen) < MAX_EXAMPLES and text not in seen:
        seen.append(text)


class ReasonCounter(Counter[str]):
    """reason -> count (a :class:`~collections.Counter`), and reason -> up to five distinct examples."""

    def __init__(self) -> None:
        super().__init__()
        self.examples: dict[str, list[str]] = {}

    def add(self, reason: str, n: int = 1, example: object = None) -> None:
        """Count ``n`` for ``reason`` and keep ``example`` (when given) among its first few."""
        self[reason] += int(n)
        if example is not None:
            keep_example(self.examples, reason, example)
