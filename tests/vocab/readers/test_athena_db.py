"""OMOP vocabulary tables inside a CDM database (SQLite here), names in any case."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from ehrfeat.errors import VocabularyError
from ehrfeat.vocab import VocabSource
from ehrfeat.vocab.readers import read_athena_db

INTEGERS = {
    "concept_id",
    "concept_id_1",
    "concept_id_2",
    "ancestor_concept_id",
    "descendant_concept_id",
    "min_levels_of_separation",
    "max_levels_of_separation",
    "language_concept_id",
}


def _load_fixture(folder: Path, url: str, upper: bool) -> sa.Engine:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for path in sorted(folder.glob("*.csv")):
            with path.open(encoding="utf-8", newline="") as fh:
                rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
            name = path.stem.upper() if upper else path.stem.lower()
            header = [h.upper() if upper else h for h in rows[0]]
            cols = ", ".join(f"{h} {'INTEGER' if h.lower() in INTEGERS else 'TEXT'}" for h in header)
            conn.exec_driver_sql(f"CREATE TABLE {name} ({cols})")
            marks = ", ".join("?" for _ in header)
            conn.exec_driver_sql(f"INSERT INTO {name} VALUES ({marks})", [tuple(r) for r in rows[1:]])
    return engine


@pytest.mark.parametrize("upper", [False, True])
def test_reads_cdm_tables(
    tmp_path: Path, upper: bool, athena_fixture: Path, check_athena_fixture: Callable[[VocabSource], None]
) -> None:
    url = f"sqlite:///{tmp_path / 'cdm.db'}"
    _load_fixture(athena_fixture, url, upper)
    check_athena_fixture(read_athena_db(url))


def test_no_concept_table(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE person (person_id INTEGER)")
    with pytest.raises(VocabularyError, match="no concept table"):
        read_athena_db(engine)
