"""The shipped hiprbert-mini: its model card's table re-runs, and its win marks are those of the 95% intervals."""

from __future__ import annotations

import re

import pytest

from ehrfeat.evaluation.report import METRIC_COLUMNS, SOURCE_METRICS, winner_rows
from ehrfeat.models import shipped_model_path

SHIPPED = shipped_model_path("hiprbert-mini")
TOLERANCE = 0.005  # int8 kernels differ a little between CPUs (VNNI, AVX-512, AVX2)

shipped = pytest.mark.skipif(not (SHIPPED / "ehrfeat_onnx.json").is_file(), reason="this checkout ships no hiprbert-mini")

Row = tuple[float, float, tuple[float, float] | None, str | None]  # base, shipped, 95% CI of the delta, win


def _is_row(name: str) -> bool:
    return name in METRIC_COLUMNS or (":" in name and name.split(":", 1)[1] in SOURCE_METRICS)


def card_table(text: str) -> dict[str, Row]:
    """metric -> (base, shipped, CI, win) from the first evaluation table of the model card."""
    section = text.split("## Evaluation", 1)[1]
    rows: dict[str, Row] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if rows and not line.startswith("|"):
            break
        if len(cells) >= 3 and _is_row(cells[0]) and re.fullmatch(r"[0-9.]+", cells[1]):
            ci = re.fullmatch(r"\[([-+0-9.]+), ([-+0-9.]+)\]", cells[4]) if len(cells) > 4 else None
            interval = (float(ci.group(1)), float(ci.group(2))) if ci else None
            rows[cells[0]] = (float(cells[1]), float(cells[2]), interval, cells[5] if len(cells) > 5 else None)
    return rows


@shipped
def test_card_table_lists_every_row_and_marks_wins_by_the_interval() -> None:
    table = card_table((SHIPPED / "README.md").read_text(encoding="utf-8"))
    assert set(METRIC_COLUMNS) <= set(table)
    assert any(":" in name for name in table)  # per-source rows
    for name, (_base, _shipped, interval, win) in table.items():
        assert interval is not None and win in ("yes", "no"), name
        assert (win == "yes") == (interval[0] > 0), name


@shipped
@pytest.mark.slow
def test_evaluate_reproduces_the_card() -> None:
    from ehrfeat.training.compare import evaluate_models

    results = evaluate_models("hiprbert-mini")
    wins = winner_rows(results)
    table = card_table((SHIPPED / "README.md").read_text(encoding="utf-8"))
    assert set(wins) == set(table)
    for name, (base, trained, interval, win) in table.items():
        source, _, metric = name.rpartition(":")
        got_base = results["base"]["by_source"][source][metric] if source else results["base"][metric]
        got_trained = results["trained"]["by_source"][source][metric] if source else results["trained"][metric]
        assert got_base == pytest.approx(base, abs=TOLERANCE), name
        assert got_trained == pytest.approx(trained, abs=TOLERANCE), name
        assert interval is not None
        if abs(interval[0]) > TOLERANCE:  # a lower end this close to 0 may fall either side on another CPU
            assert wins[name] == (win == "yes"), name


def test_card_parser_reads_a_markdown_table() -> None:
    text = (
        "# x\n## Evaluation\nintro\n\n| metric | base | trained | delta | 95% CI | win |\n|---|---|---|---|---|---|\n"
        "| auc_0v1 | 0.5000 | 0.6000 | +0.1000 | [+0.0500, +0.1500] | yes |\n| icd10cm:auc_0v1 | 0.5 | 0.5 | +0.0 | [-0.0100, +0.0100] | no |\n"
        "\nafter\n| auc_0v2 | 0.1 | 0.2 | x |\n"
    )
    assert card_table(text) == {"auc_0v1": (0.5, 0.6, (0.05, 0.15), "yes"), "icd10cm:auc_0v1": (0.5, 0.5, (-0.01, 0.01), "no")}
