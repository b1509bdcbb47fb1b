"""benchmarks/run_table.py: one row per evaluation table, counted from its rows, and the model card shows its output."""

from __future__ import annotations

import functools
from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers import script_module

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"


@functools.cache
def _run_table_script() -> ModuleType:
    return script_module("benchmarks", "run_table")


def test_the_cards_run_table_is_the_scripts_output() -> None:
    script = _run_table_script()
    text = (ROOT / "ehrfeat" / "models" / "hiprbert-mini.md").read_text(encoding="utf-8")
    assert script.card_block(text) == script.run_table(RESULTS) + "\n", (
        "the card is out of date: python benchmarks/run_table.py --write ehrfeat/models/hiprbert-mini.md ehrfeat/models/hiprbert-mini/README.md")


def test_write_replaces_only_the_cards_table(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    script = _run_table_script()
    card = tmp_path / "card.md"
    card.write_text("# card\nbefore\n<!-- run-table:start -->\nold table\n<!-- run-table:end -->\nafter\n")
    assert script.main(["--write", str(card)]) == 0
    assert card.read_text() == f"# card\nbefore\n<!-- run-table:start -->\n{script.run_table(RESULTS)}\n<!-- run-table:end -->\nafter\n"
    assert capsys.readouterr().out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.md"]  # no temporary file left beside it


def test_write_refuses_a_card_without_its_markers_and_writes_none(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    script = _run_table_script()
    good, bare = tmp_path / "good.md", tmp_path / "bare.md"
    good.write_text("<!-- run-table:start -->\nold\n<!-- run-table:end -->\n")
    bare.write_text("# a card of the user's, no markers\n")
    assert script.main(["--write", str(good), str(bare)]) == 2
    err = capsys.readouterr().err
    assert str(bare) in err and "add the <!-- run-table:start -->" in err
    assert good.read_text() == "<!-- run-table:start -->\nold\n<!-- run-table:end -->\n"
    assert bare.read_text() == "# a card of the user's, no markers\n"
    assert script.main(["--write", str(tmp_path / "missing.md")]) == 2


def test_run_table_counts_wins_and_losses_of_a_table(tmp_path: Path) -> None:
    script = _run_table_script()
    (tmp_path / "hiprbert-mini-v9-run1-vnni-int8-eval.md").write_text(
        "| metric | base | trained | delta | 95% CI | win |\n|---|---|---|---|---|---|\n"
        "| auc_0v1 | 0.5000 | 0.5300 | +0.0300 | [+0.0100, +0.0500] | yes |\n"
        "| lay_mesh@3 | 0.7000 | 0.6900 | -0.0100 | [-0.0200, -0.0010] | no |\n"
        "| phecode:auc_0v1 | 0.6000 | 0.6010 | +0.0010 | [-0.0030, +0.0050] | no |\n\n"
        "(...; encoders: base: ONNX int8 (int8, avx512_vnni, QInt8 weights), trained: ONNX int8 (int8, avx512_vnni, QInt8 weights))\n")
    (tmp_path / "hiprbert-mini-v10-run1-vnni-int8-unseen-eval.md").write_text("| auc_0v1 | 0.5 | 0.5 | +0.0000 | [-0.1000, +0.1000] | no |\n")
    rows = script.run_table(tmp_path).splitlines()
    assert len(rows) == 3  # header, rule, one table: the unseen one is another question
    cells = [c.strip() for c in rows[2].strip("|").split("|")]
    assert cells[1:6] == ["avx512_vnni", "1/2", "1/3", "lay_mesh@3", "lay_mesh@3"]
    assert cells[6:] == ["**+0.0300**", "-", "-", "-", "-0.0100"]


def test_a_table_that_is_not_utf8_is_exit_2_naming_it(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "hiprbert-mini-v9-run1-eval.md"
    bad.write_bytes(b"| auc_0v1 | 0.5 | \xff\xfe |\n")
    assert _run_table_script().main(["--results", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "not UTF-8" in err and "Traceback" not in err


@pytest.mark.parametrize("folder", ["missing", "empty"])
def test_a_results_folder_without_tables_is_exit_2(tmp_path: Path, capsys, folder: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "empty").mkdir()
    assert _run_table_script().main(["--results", str(tmp_path / folder)]) == 2
    assert str(tmp_path / folder) in capsys.readouterr().err
