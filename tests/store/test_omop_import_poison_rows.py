"""import-omop on SQLite and a real PostgreSQL: late type changes, ids above 2^31 and NUL bytes never stop an import."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from ehrfeat.store import import_omop, open_database

# person_id 3 000 000 000 > 2^31; in row 5 (after the first chunk of 2 rows) an int-looking column turns to text;
# a NUL byte in a source value.
MEASUREMENT = (
    "measurement_id,person_id,measurement_concept_id,value_as_number,unit_concept_id,measurement_source_value\n"
    "1,1,3004410,7.5,8554,A1c\n"
    "2,3000000000,3004410,6,8554,A1c\n"
    "3,2,3004410,5.5,8554,hb\x00a1c\n"
    "4,2,3004410,5,8554,x\n"
    "5,2,3004410,4,mg/dL,y\n"
)


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = open_database(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(sql)).all()]
    engine.dispose()
    return rows


def test_late_text_big_ids_and_nul_bytes_load_on_every_backend(tmp_path: Path, database_url: str) -> None:
    src = tmp_path / "csv"
    src.mkdir()
    (src / "MEASUREMENT.csv").write_text(MEASUREMENT)
    report = import_omop(src, database_url, chunk_size=2)
    assert dict(report.tables) == {"measurement": 5}
    assert dict(report.nul_removed) == {"measurement": 1}
    rows = _rows(database_url, "SELECT person_id, unit_concept_id, measurement_source_value FROM measurement ORDER BY measurement_id")
    assert [r[0] for r in rows] == [1, 3_000_000_000, 2, 2, 2]
    assert [str(r[1]) for r in rows] == ["8554", "8554", "8554", "8554", "mg/dL"]  # the column became text, nothing lost
    assert rows[2][2] == "hba1c"
    assert "password" not in report.target and (":***@" in report.target or "://" not in report.target or "sqlite" in report.target)


def test_cli_reports_removed_nul_bytes_and_masks_the_url(tmp_path: Path, postgresql_url: str) -> None:
    src = tmp_path / "csv"
    src.mkdir()
    (src / "MEASUREMENT.csv").write_text(MEASUREMENT)
    result = CliRunner().invoke(app, ["import-omop", str(src), postgresql_url])
    assert result.exit_code == 0, result.output
    assert "1 rows with NUL bytes removed" in result.output
    password = sa.engine.make_url(postgresql_url).password
    assert password and password not in result.output and ":***@" in result.output
