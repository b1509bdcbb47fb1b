"""embed-codes: undecodable descriptions, over-long codes and unknown systems give a clear answer, never a traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ehrfeat.embed import BAD_TEXT, LONG_CODE, embed_codes
from ehrfeat.errors import InputError
from ehrfeat.models import load_encoder
from ehrfeat.store import open_database
from tests.helpers import make_native_db

LONG = "X" * 200


@pytest.fixture(scope="module")
def encoder(tiny_bert):  # type: ignore[no-untyped-def]
    return load_encoder(tiny_bert)


def _poisoned_db(path: Path) -> Path:
    events = [(1, "2020-01-01", "ICD10CM", "E11.9", None), (2, "2020-01-01", "LOCAL", "LAB-1", None),
              (3, "2020-01-01", "LOCAL", LONG, None)]
    make_native_db(path, events, [("LOCAL", LONG, "a code too long for the table")])
    con = sqlite3.connect(path)  # a description that is not UTF-8 (Latin-1 'Kalium (mmol/l) \xb5')
    con.execute("INSERT INTO vocabulary VALUES ('LOCAL', 'LAB-1', CAST(X'4b616c69756d20b5' AS TEXT))")
    con.commit()
    con.close()
    return path


def test_bad_text_and_long_codes_are_counted_and_the_rest_embedded(tmp_path: Path, encoder, database_url: str) -> None:  # type: ignore[no-untyped-def]
    db = _poisoned_db(tmp_path / "p.db")
    report = embed_codes(db, encoder=encoder, out=database_url)
    assert report.skipped[LONG_CODE] == 1 and LONG[:40] in report.skipped_examples[LONG_CODE][0]
    assert report.skipped[BAD_TEXT] >= 1
    engine = open_database(database_url)
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT code, text FROM code_embeddings")).all())
    engine.dispose()
    assert set(rows) == {"E11.9", "LAB-1"} and rows["LAB-1"] == "Kalium \ufffd"
    again = embed_codes(db, encoder=encoder, out=database_url)  # a re-run: nothing new, same answer
    assert again.embedded_now == 0 and again.skipped[LONG_CODE] == 1


def test_unknown_system_is_an_error_listing_the_known_ones(tmp_path: Path, encoder) -> None:  # type: ignore[no-untyped-def]
    db = _poisoned_db(tmp_path / "p.db")
    with pytest.raises(InputError, match="E1220") as info:
        embed_codes(db, encoder=encoder, systems=["FOO"])
    assert "FOO" in str(info.value) and "ICD10CM, LOCAL" in str(info.value)


def test_cli_unknown_system_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    from ehrfeat.cli.main import app

    db = _poisoned_db(tmp_path / "p.db")
    before = db.read_bytes()
    result = CliRunner().invoke(app, ["embed-codes", str(db), "--systems", "FOO"])
    assert result.exit_code == 2, result.output
    assert "not found in the database" in result.output and "Traceback" not in result.output
    assert db.read_bytes() == before
