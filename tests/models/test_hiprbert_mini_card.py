"""The shipped hiprbert-mini: its model card's table re-runs, and it beats its base on every row."""

from __future__ import annotations

import re

import pytest

from ehrfeat.evaluation.report import METRIC_COLUMNS, winner_rows
from ehrfeat.models import shipped_model_path

SHIPPED = shipped_model_path("hiprbert-mini")
TOLERANCE = 0.005  # int8 kernels differ a little between CPUs (VNNI, AVX-512, AVX2)

shipped = pytest.mark.skipif(not (SHIPPED / "ehrfeat_onnx.json").is_file(), reason="this checkout ships no hiprbert-mini")


def card_table(text: str) -> dict[str, tuple[float, float]]:
    """metric -> (base, shipped) from the first evaluation table of the model card."""
    section = text.split("## Evaluation", 1)[1]
    rows: dict[str, tuple[float, float]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if rows and not line.startswith("|"):
            break
        if len(cells) >= 3 and cells[0] in METRIC_COLUMNS and re.fullmatch(r"[0-9.]+", cells[1]):
            rows[cells[0]] = (float(cells[1]), float(cells[2]))
    return rows


@shipped
def test_card_table_lists_every_row() -> None:
    table = card_table((SHIPPED / "README.md").read_text(encoding="utf-8"))
    assert set(table) == set(METRIC_COLUMNS)
    assert all(shipped > base for base, shipped in table.values())


@shipped
@pytest.mark.slow
def test_evaluate_reproduces_the_card_and_wins_every_row() -> None:
    from ehrfeat.training.compare import evaluate_models

    results = evaluate_models("hiprbert-mini")
    assert all(winner_rows(results).values()) and len(winner_rows(results)) == len(METRIC_COLUMNS), winner_rows(results)
    table = card_table((SHIPPED / "README.md").read_text(encoding="utf-8"))
    for metric, (base, shipped) in table.items():
        assert results["base"][metric] == pytest.approx(base, abs=TOLERANCE), metric
        assert results["trained"][metric] == pytest.approx(shipped, abs=TOLERANCE), metric


def test_card_parser_reads_a_markdown_table() -> None:
    text = "# x\n## Evaluation\nintro\n\n| metric | base | trained | delta |\n|---|---|---|---|\n| auc_0v1 | 0.5000 | 0.6000 | +0.1000 |\n\nafter\n| auc_0v2 | 0.1 | 0.2 | x |\n"
    assert card_table(text) == {"auc_0v1": (0.5, 0.6)}
