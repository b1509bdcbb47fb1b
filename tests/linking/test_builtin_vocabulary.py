"""builtin_vocabulary: read once per process, and every caller gets its own copy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ehrfeat.codes import HPO, ICD10CM
from ehrfeat.linking import sources
from ehrfeat.vocab import Vocabulary, readers
from ehrfeat.vocab.source import VocabSource


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    calls: list[str] = []
    vocab = Vocabulary()
    vocab.add(ICD10CM, "E11.9", "Type 2 diabetes mellitus without complications")
    vocab.add(ICD10CM, "E11.65", "Type 2 diabetes mellitus with hyperglycemia")
    vocab.add(ICD10CM, "S52.521A", "Torus fracture of lower end of right radius, initial encounter")

    def read_icd10cm() -> VocabSource:
        calls.append(ICD10CM)
        return VocabSource("fake ICD-10-CM", vocab, {}, (), {})

    monkeypatch.setattr(readers, "read_icd10cm", read_icd10cm)
    monkeypatch.setattr(sources, "_icd10cm_includes", lambda: lambda code: ("an include",) if code == "E11.9" else ())
    sources._read_builtin.cache_clear()
    yield calls
    sources._read_builtin.cache_clear()  # the next test reads the real package again


def test_read_once_per_process_and_each_caller_owns_its_copy(counted: list[str]) -> None:
    first = sources.builtin_vocabulary([ICD10CM], max_code_length=5)
    assert [c.code for c in first] == ["E11.9", "E11.65"]  # S52.521A is longer than 5 characters
    assert first.get(ICD10CM, "E119").synonyms == ("an include",)  # type: ignore[union-attr]
    first.add(ICD10CM, "I10", "Essential hypertension")
    second = sources.builtin_vocabulary([ICD10CM], max_code_length=5)
    assert counted == [ICD10CM] and second is not first and len(second) == 2  # not read again, not changed by `first`'s caller
    assert len(sources.builtin_vocabulary([ICD10CM], max_code_length=7)) == 3 and counted == [ICD10CM, ICD10CM]


def test_no_system_reads_nothing(counted: list[str]) -> None:
    assert len(sources.builtin_vocabulary([HPO][:0])) == 0 and counted == []
