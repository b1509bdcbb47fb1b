"""CONCEPT as ehrfeat reads it: concept rows to canonical codes, looked up in batches, repeated ids counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.store import open_database
from ehrfeat.store.omop_concept_table import Concepts, concept_key, repeated_concepts
from ehrfeat.store.records import SkipReason
from ehrfeat.store.schema import detect_schema
from tests.helpers import insert_rows


@pytest.mark.parametrize(("vocab", "code", "want"), [
    ("ICD10CM", "E11.9", ("ICD10CM", "E11.9")),
    ("icd-10-cm", " e11.9 ", ("ICD10CM", "E11.9")),
    ("SNOMED", "44054006", ("SNOMED", "44054006")),
    (None, "E11.9", SkipReason.NULL_CODE),
    ("ICD10CM", "  ", SkipReason.NULL_CODE),
    ("no such/system!", "X1", SkipReason.MALFORMED_CODE),
])
def test_concept_key_by_hand(vocab: object, code: object, want: object) -> None:
    assert concept_key(vocab, code) == want


def test_concepts_resolve_ids_in_batches_with_names(omop_url: str) -> None:
    engine = open_database(omop_url)
    concepts = Concepts(engine, detect_schema(engine))
    with engine.connect() as conn:
        concepts.resolve(conn, [201826, 201826, 999_999_999])
    assert concepts.keys[201826] == ("SNOMED", "44054006")
    assert concepts.names[201826] and concepts.raw[201826] == "SNOMED:44054006"
    assert 999_999_999 not in concepts.keys  # not in CONCEPT: left to the source value
    engine.dispose()


def test_repeated_ids_are_counted_once_per_engine(omop_db: Path) -> None:
    url = f"sqlite:///{omop_db}"
    engine = open_database(url)
    schema = detect_schema(engine)
    assert repeated_concepts(engine, schema).ids == 0
    engine.dispose()
    insert_rows(url, "CONCEPT", [(201826, "Other name", "Condition", "ICD10CM", "E11.9")])
    engine = open_database(url)
    found = repeated_concepts(engine, schema)
    assert (found.ids, found.examples) == (1, (201826,))
    engine.dispose()
