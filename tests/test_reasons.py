"""One reason counter: reason -> count, with up to five distinct examples each."""

from __future__ import annotations

from ehrfeat.reasons import MAX_EXAMPLES, ReasonCounter, keep_example
from ehrfeat.store.records import SkipCollector
from ehrfeat.vocab.readers._io import Skips


def test_counts_and_keeps_five_distinct_examples() -> None:
    c = ReasonCounter()
    for i in range(8):
        c.add("malformed code", 1, f"X{i % 6}")
    c.add("malformed code", 2, "X0")
    c.add("null code", 3)
    assert dict(c) == {"malformed code": 10, "null code": 3}
    assert c.examples == {"malformed code": ["X0", "X1", "X2", "X3", "X4"]}
    assert MAX_EXAMPLES == 5


def test_keep_example_on_any_mapping() -> None:
    bucket: dict[str, list[str]] = {}
    for v in (1, 1, 2):
        keep_example(bucket, "examples", v)
    assert bucket == {"examples": ["1", "2"]}


def test_readers_and_stores_count_with_it() -> None:
    skips, collector = Skips(), SkipCollector()
    skips.add("deprecated term")
    collector.add("malformed code (rows)", 4, "ICD10CM:XX")
    assert isinstance(skips, ReasonCounter) and dict(skips) == {"deprecated term": 1}
    assert collector.counts is collector and collector.report().counts == {"malformed code (rows)": 4}
