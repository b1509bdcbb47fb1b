"""Concept ids an OMOP CONCEPT lists twice, on Spark: refused by default (E1222), or the rule of one machine.

The same duplicated CONCEPT row as tests/store/test_duplicate_concepts.py (concept 201826 is
SNOMED 44054006; a second row names ICD10CM E11.9). With ``first`` and ``skip`` the Spark
vectors and skip counts equal the single-machine path's on the same tables, and no event is
counted twice (the events read stay those of the clean database).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from ehrfeat.errors import InputError
from ehrfeat.patients.vectors import patient_vectors
from tests.spark.conftest import export_parquet
from tests.spark.test_spark_parity import assert_same
from tests.spark.test_spark_sources import _cache_all
from tests.store.conftest import omop_db  # noqa: F401 (a fixture)

pytestmark = pytest.mark.slow

TABLES = ("PERSON", "CONCEPT", "condition_occurrence", "measurement")


@pytest.fixture
def duplicated(omop_db: Path, tmp_path: Path) -> tuple[Path, Path, Path]:  # noqa: F811
    """(the SQLite database with a repeated concept id, its OMOP tables as parquet, its embeddings as parquet)."""
    _cache_all(omop_db)  # before the duplicate: the default rule refuses to read the codes after it
    with sqlite3.connect(omop_db) as con:
        con.execute("INSERT INTO concept VALUES (201826, 'Other name', 'Condition', 'ICD10CM', 'E11.9')")
    folder = export_parquet(omop_db, tmp_path / "omop", TABLES)
    export_parquet(omop_db, tmp_path / "emb", ("code_embeddings",))
    return omop_db, folder, tmp_path / "emb" / "code_embeddings.parquet"


def test_rules_match_one_machine(spark, duplicated: tuple[Path, Path, Path]) -> None:
    from ehrfeat.spark.vectors import patient_vectors as spark_vectors

    db, folder, emb = duplicated
    with pytest.raises(InputError) as info:
        spark_vectors(spark, str(folder), str(emb))
    assert info.value.code == "E1222" and "201826" in str(info.value) and "--duplicate-concepts" in str(info.value)
    for rule in ("first", "skip"):
        local = patient_vectors(db, weighting="count", duplicate_concepts=rule)
        result = spark_vectors(spark, str(folder), str(emb), weighting="count", duplicate_concepts=rule)
        got = result.collect()
        result.release()
        assert_same(got, local)
        reason = f"concept ids listed more than once in CONCEPT (--duplicate-concepts {rule}"
        assert [n for r, n in got.report.read_issues.items() if r.startswith(reason)] == [1], got.report.read_issues
        assert got.report.events_read == local.report.events_read  # each event once, not once per CONCEPT row
    with pytest.raises(InputError) as unknown:
        spark_vectors(spark, str(folder), str(emb), duplicate_concepts="last")
    assert unknown.value.code == "E1233"


def test_cli_engine_spark_takes_the_rule(duplicated: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, folder, emb = duplicated
    base = ["patient-vectors", str(folder), "--engine", "spark", "--master", "local[2]", "--embeddings", str(emb)]
    refused = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "a.parquet")])
    assert refused.exit_code == 2 and "E1222" in refused.output and "Traceback" not in refused.output
    assert not (tmp_path / "a.parquet").exists()
    done = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "b.parquet"), "--duplicate-concepts", "first"])
    assert done.exit_code == 0, done.output
    assert "--duplicate-concepts first" in done.output and (tmp_path / "b.parquet").exists()


def test_embed_codes_on_spark_counts_the_rule(spark, duplicated: tuple[Path, Path, Path], tiny_onnx: Path, tmp_path: Path) -> None:
    from ehrfeat.spark.embed import embed_codes as spark_embed

    _, folder, _ = duplicated
    out = tmp_path / "code_embeddings.parquet"
    with pytest.raises(InputError, match="E1222"):
        spark_embed(spark, str(folder), out, model=tiny_onnx, variant="fp32")
    assert not out.exists()  # refused before anything is written
    report = spark_embed(spark, str(folder), out, model=tiny_onnx, variant="fp32", duplicate_concepts="skip")
    reason = "concept ids listed more than once in CONCEPT (--duplicate-concepts skip: their events use source values)"
    assert report.skipped[reason] == 1 and report.embedded_now > 0
