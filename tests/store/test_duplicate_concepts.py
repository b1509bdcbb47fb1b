"""Duplicate concept ids in CONCEPT: an error by default, or the user's rule (first, skip), counted in the summary."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from ehrfeat.errors import InputError
from ehrfeat.store import distinct_codes, open_database
from ehrfeat.store.omop_concept_table import add_repeated_concepts
from ehrfeat.store.schema import detect_schema
from tests.helpers import insert_rows


def _duplicated(omop_db: Path | str) -> Path | str:
    url = str(omop_db) if "://" in str(omop_db) else f"sqlite:///{omop_db}"
    # 201826 is SNOMED 44054006; a second row names ICD10CM E11.9
    insert_rows(url, "CONCEPT", [(201826, "Other name", "Condition", "ICD10CM", "E11.9")])
    return omop_db


def _codes(db: Path | str, rule: str) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    engine = open_database(db)
    schema = dataclasses.replace(detect_schema(engine), duplicate_concepts=rule)
    codes, _ = distinct_codes(engine, schema)
    counts: dict[str, int] = {}
    add_repeated_concepts(engine, schema, counts)
    engine.dispose()
    return {(c.system, c.code): c.n_events for c in codes}, counts


def test_rules_first_and_skip_count_each_event_once(omop_url: str) -> None:
    clean, no_counts = _codes(omop_url, "first")
    assert no_counts == {}
    db = _duplicated(omop_url)
    first, counts = _codes(db, "first")
    # first row by (vocabulary_id, concept_code): ICD10CM E11.9 (before SNOMED); the 3 events of 201826 counted once
    assert ("SNOMED", "44054006") not in first
    assert first[("ICD10CM", "E11.9")] == clean[("ICD10CM", "E11.9")] + clean[("SNOMED", "44054006")]
    assert sum(first.values()) == sum(clean.values())
    assert list(counts.values()) == [1] and "--duplicate-concepts first" in next(iter(counts))
    skip, counts = _codes(db, "skip")  # 201826 is dropped: its rows fall back to their source concept / value
    assert ("SNOMED", "44054006") not in skip and sum(skip.values()) == sum(clean.values())
    assert list(counts.values()) == [1] and "--duplicate-concepts skip" in next(iter(counts))
    with pytest.raises(InputError, match="E1222"):
        _codes(db, "error")


def test_cli_rule_is_in_the_summary_and_an_unknown_rule_exits_2(omop_db: Path, tiny_onnx: Path) -> None:
    db = Path(_duplicated(omop_db))
    runner = CliRunner()
    refused = runner.invoke(app, ["embed-codes", str(db), "--model", str(tiny_onnx), "--no-progress"])
    assert refused.exit_code == 2 and "E1222" in refused.output and "201826" in refused.output
    unknown = runner.invoke(app, ["embed-codes", str(db), "--model", str(tiny_onnx), "--duplicate-concepts", "last"])
    assert unknown.exit_code == 2 and "E1233" in unknown.output and "error, first, skip" in unknown.output
    done = runner.invoke(app, ["embed-codes", str(db), "--model", str(tiny_onnx), "--no-progress", "--duplicate-concepts", "first"])
    assert done.exit_code == 0, done.output
    assert "concept ids listed more than once in CONCEPT (--duplicate-concepts first" in done.output
    vectors = runner.invoke(app, ["patient-vectors", str(db), "--out", str(db.parent / "v.parquet"), "--duplicate-concepts", "first"])
    assert vectors.exit_code == 0, vectors.output
    assert "listed more than once in CONCEPT" in vectors.output
