"""What an embed-codes run reports: summary lines, speeds and ``--report`` JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ehrfeat.embed_report import CodeRunReport, EmbedReport
from ehrfeat.errors import InputError


def _report(**more: object) -> EmbedReport:
    fields: dict[str, object] = {
        "database": "db", "target": "out.db", "fingerprint": "fp", "codes_found": 10, "embedded_now": 4,
        "already_cached": 6, "elapsed_s": 2.0, "encode_s": 1.0, "text_sources": {"database": 3, "built-in": 1},
    }
    return EmbedReport(**{**fields, **more})  # type: ignore[arg-type]


def test_lines_give_counts_sources_speeds_and_where_the_vectors_went() -> None:
    report = _report()
    assert isinstance(report, CodeRunReport) and report.codes_per_s == 2.0
    assert report.lines() == [
        "codes found:        10", "embedded now:       4", "already cached:     6", "unresolved:         0",
        "text sources:       built-in 1, database 3", "encoder:            fp", "written to:         out.db",
        "elapsed:            2.0 s (2 codes/s overall)", "encoding + writing: 1.0 s (4 codes/s)",
    ]
    assert _report(embedded_now=0, elapsed_s=0.0).codes_per_s == 0.0


def test_json_report_holds_every_field_and_the_speed(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    _report(skipped={"bad": 1}).write_json(path)
    data = json.loads(path.read_text())
    assert data["codes_per_s"] == 2.0 and data["skipped"] == {"bad": 1} and data["coverage"] is None
    with pytest.raises(InputError, match="cannot write the report to") as err:
        _report().write_json(tmp_path / "missing" / "report.json")
    assert err.value.code == "E1404"
