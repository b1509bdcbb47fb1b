"""One run-summary formatter: every command's summary lines up its labels and lists reasons one way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ehrfeat.embed import EmbedReport
from ehrfeat.embed_meds import MedsEmbedReport
from ehrfeat.errors import InputError
from ehrfeat.linking.notes import LinkNotesReport
from ehrfeat.patients.meds_vectors import MedsVectorReport
from ehrfeat.patients.vectors import VectorReport
from ehrfeat.report import Summary, reason_lines, write_json


def test_fields_line_up_and_reasons_show_counts_and_examples() -> None:
    out = Summary(20).field("codes found", 12).field("a label longer than the width", "x")
    out.reasons({"b": 2, "a": 10}, {"b": ["X1", "X2"]}).reasons({}, heading="never shown:")
    assert out.lines == [
        "codes found:        12",
        "a label longer than the width: x",
        "      10  a",
        "       2  b  e.g. X1, X2",
    ]


def test_reason_lines_by_count_with_tags_details_and_headings() -> None:
    counts = {"small": 1, "large": 30, "tie": 1}
    assert reason_lines(counts, width=4, by_count=True) == ["    30  large", "     1  small", "     1  tie"]
    assert reason_lines({"r": 3}, tag="skipped") == ["  skipped      3  r"]
    assert reason_lines({"r": 3}, details={"r": "ICD10CM 3"}) == ["       3  r  (ICD10CM 3)"]
    assert Summary(10).reasons({"r": 1}, heading="read:", width=3).lines == ["read:", "    1  r"]


def test_every_report_uses_it() -> None:
    embed = EmbedReport(database="db", target="db", fingerprint="fp", codes_found=10, embedded_now=4, already_cached=3,
                        unresolved={"no text": 3}, unresolved_examples={"no text": ["ICD10CM:X"]}, skipped={"bad": 1})
    assert embed.lines()[:6] == [
        "codes found:        10", "embedded now:       4", "already cached:     3", "unresolved:         3",
        "       3  no text  e.g. ICD10CM:X", "skipped rows/codes: 1",
    ]
    meds = MedsEmbedReport(meds_dir="m", target="t", fingerprint="fp", codes_found=5, embedded_now=5, already_cached=0,
                           by_source={"codes.parquet": {"ICD10CM": 2, "LOINC": 3}}, shards=1, rows_read=9)
    assert meds.lines()[:6] == [
        "MEDS dataset:       m (1 shards, 9 rows)", "codes found:        5", "embedded now:       5",
        "already cached:     0", "text found by (every distinct code once):", "       5  codes.parquet  (LOINC 3, ICD10CM 2)",
    ]
    notes = LinkNotesReport("db", "NOTE_NLP", "fp", "built-in", 3, 2, 1, 4, 4, 2, 0, {"empty note text": 1},
                            unresolved_abbreviations=2, repaired={"bad text": 1})
    assert notes.lines()[1] == "linked now:            2"
    assert notes.lines()[6:9] == [
        "  unlinked     2  ambiguous abbreviations (PE, MS, ...) outside a deciding section",
        "  skipped      1  empty note text", "  repaired     1  bad text",
    ]
    vectors = VectorReport(patients=3, patients_without_codes=1, events_read=10, events_used=7,
                           skipped={"after as-of": 1, "no embedding": 2}, as_of_issues={"unknown patient": 1})
    assert vectors.lines()[:9] == [
        "patients:               3", "  without usable codes: 1 (zero rows, flagged no_codes)",
        "events read:            10", "events used:            7", "events not used:        3",
        "          2  no embedding", "          1  after as-of", "as-of table:", "          1  unknown patient",
    ]
    rows = MedsVectorReport(rows=2, rows_without_codes=0, subjects=2, events_read=5, events_used=5, as_of_rule="strict",
                            label_issues={"unknown subject": 1})
    assert rows.lines()[1:2] + rows.lines()[-3:-1] == [
        "prediction rows:        2 (2 subjects)", "label table:", "          1  unknown subject",
    ]


def test_write_json_names_the_file_and_its_code(tmp_path: Path) -> None:
    write_json(tmp_path / "r.json", {"b": 1, "a": [1]}, code="E1404")
    assert json.loads((tmp_path / "r.json").read_text()) == {"a": [1], "b": 1}
    with pytest.raises(InputError, match=r"missing/r\.json") as err:
        write_json(tmp_path / "missing" / "r.json", {}, code="E1518")
    assert err.value.code == "E1518"


def test_a_report_write_that_fails_midway_leaves_the_previous_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills halfway through: the old report stays whole and no temporary file is left beside it."""
    report = tmp_path / "report.json"
    write_json(report, {"codes_found": 1}, code="E1404")
    before = report.read_bytes()
    real = Path.write_text

    def half_then_full_disk(self: Path, text: str, *args: object, **kwargs: object) -> int:
        real(self, text[: len(text) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half_then_full_disk)
    with pytest.raises(InputError, match="No space left"):
        write_json(report, {"codes_found": 2, "more": list(range(50))}, code="E1404")
    monkeypatch.undo()
    assert report.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
