"""The OMOP CSV files of a folder or .zip, and their rows (what import_omop reads)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from ehrfeat.errors import InputError
from ehrfeat.store.omop_csv_files import csv_members, csv_rows


def _folder(root: Path) -> Path:
    (root / "__MACOSX").mkdir(parents=True)
    (root / "__MACOSX" / "PERSON.csv").write_text("junk\n")
    (root / ".hidden.csv").write_text("a\n1\n")
    (root / "CONCEPT.csv").write_text('concept_id,concept_name\n1,"a, b"\n')
    (root / "person.tsv").write_bytes(b"person_id\tnote\n7\t\"x\xff\n")
    (root / "bad-name.csv").write_text("a\n1\n")
    (root / "readme.txt").write_text("not a table\n")
    return root


def test_a_folder_gives_one_member_per_table_and_lists_bad_names(tmp_path: Path) -> None:
    members, skipped = csv_members(_folder(tmp_path / "omop"))
    assert [(m.name, m.table) for m in members] == [("CONCEPT.csv", "concept"), ("person.tsv", "person")]
    assert skipped == {"bad-name.csv": "file name is not a valid table name"}
    with members[0].open() as raw:
        header, rows, line = csv_rows(raw, members[0].name)
        assert header == ["concept_id", "concept_name"] and list(rows) == [["1", "a, b"]] and line() == 2
    with members[1].open() as raw:  # tab-separated: no quote processing; bytes not UTF-8 become U+FFFD
        header, rows, _ = csv_rows(raw, members[1].name)
        assert header == ["person_id", "note"] and list(rows) == [["7", '"x\ufffd']]


def test_a_zip_reads_like_a_folder(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "omop")
    archive = tmp_path / "omop.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    members, skipped = csv_members(archive)
    assert [m.table for m in members] == ["concept", "person"] and list(skipped) == ["bad-name.csv"]
    with members[0].open() as raw:
        assert csv_rows(raw, members[0].name)[0] == ["concept_id", "concept_name"]


def test_bad_sources_name_the_input_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as missing:
        csv_members(tmp_path / "nowhere")
    assert missing.value.code == "E106"
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "Concept.csv").write_text("x\n")
    (tmp_path / "a" / "sub").mkdir()
    (tmp_path / "a" / "sub" / "CONCEPT.tsv").write_text("x\n")
    with pytest.raises(InputError, match="two files for table 'concept'"):
        csv_members(tmp_path / "a")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("")
    with pytest.raises(InputError, match=r"holds no \.csv or \.tsv files"):
        csv_members(tmp_path / "empty")
    (tmp_path / "plain.csv").write_text("")
    with pytest.raises(InputError, match=r"neither a folder nor a \.zip"):
        csv_members(tmp_path / "plain.csv")
    with (tmp_path / "plain.csv").open("rb") as raw, pytest.raises(InputError, match="is empty") as empty:
        csv_rows(raw, "plain.csv")
    assert empty.value.code == "E107"
