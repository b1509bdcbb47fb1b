"""Every evaluated hiprbert-mini run at a glance, read from its ``ehrfeat evaluate --markdown`` table.

Usage: python benchmarks/run_table.py [--results benchmarks/results] [--write CARD ...]

Reads each ``hiprbert-mini-*-eval.md`` in the results folder that scores all held-out items with
item intervals (the ``-unseen-`` and ``-concept-`` tables answer other questions and are left
out) and prints one Markdown row per table: the int8 target the table was measured with (tables
before session 14 did not record it: those named ``-int8`` ran on an AVX2 CPU, the others in
torch fp32), the rows won out of those scored (overall, then counting the per-source rows), the
overall rows not won, the significant losses (intervals below zero), the issue's three hierarchy
margins and the lay MeSH rows (bold: a win). The
model card's "Every evaluated run at a glance" table is this script's output
(``tests/benchmarks/test_run_table.py`` checks that the two agree); ``--write`` puts it between the
card's ``<!-- run-table:start -->`` and ``<!-- run-table:end -->`` lines, e.g.
``--write ehrfeat/models/hiprbert-mini.md ehrfeat/models/hiprbert-mini/README.md``.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # ehrfeat from this checkout, as the other scripts here

RESULTS = Path(__file__).resolve().parent / "results"
SHOWN = ("auc_0v1", "auc_0v2", "auc_1v2", "lay_mesh@1", "lay_mesh@3")
HEADER = ("| table | int8 target | overall wins | all wins | overall rows not won | significant losses | "
          + " | ".join(SHOWN) + " |")
_ROW = re.compile(r"^\| (?P<metric>[\w:@]+) \| [-\d.]+ \| [-\d.]+ \| (?P<delta>[-+][\d.]+) \| "
                  r"\[(?P<low>[-+][\d.]+), (?P<high>[-+][\d.]+)\] \| (?P<win>yes|no) \|$")
START, END = "<!-- run-table:start -->\n", "<!-- run-table:end -->"
_TARGET = re.compile(r"ONNX int8 \(int8, (?P<target>\w+),")  # the first encoder's (base and trained run on one CPU)


@dataclass(frozen=True)
class Row:
    """One ``ehrfeat evaluate`` row: the delta against the base and its 95% interval."""

    metric: str
    delta: str
    low: float
    high: float
    win: bool


def read_rows(table: str) -> list[Row]:
    """The metric rows of one ``ehrfeat evaluate --markdown`` table."""
    rows = []
    for line in table.splitlines():
        if match := _ROW.match(line.strip()):
            rows.append(Row(match["metric"], match["delta"], float(match["low"]), float(match["high"]), match["win"] == "yes"))
    return rows


def version(path: Path) -> tuple[int, str]:
    """Sort key: the run number after ``hiprbert-mini-v``, then the rest of the name."""
    match = re.match(r"hiprbert-mini-v(\d+)-(.*)-eval\.md$", path.name)
    return (int(match[1]), match[2]) if match else (sys.maxsize, path.name)


def tables(results: Path) -> list[Path]:
    """The all-items, item-interval tables in ``results``, in run order."""
    found = [p for p in results.glob("hiprbert-mini-v*-eval.md") if "-unseen" not in p.name and "-concept" not in p.name]
    return sorted(found, key=version)


def table_row(path: Path) -> str:
    """One Markdown row summarising the table at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start}): not an ehrfeat evaluate --markdown table") from err
    rows = read_rows(text)
    by_metric = {row.metric: row for row in rows}
    overall = [row for row in rows if ":" not in row.metric]
    not_won = [row.metric for row in overall if not row.win]
    losses = [row.metric for row in rows if row.high < 0]
    target = match["target"] if (match := _TARGET.search(text)) else "-"
    shown = [(f"**{by_metric[m].delta}**" if by_metric[m].win else by_metric[m].delta) if m in by_metric else "-" for m in SHOWN]
    return (f"| [{path.stem.removeprefix('hiprbert-mini-').removesuffix('-eval')}](../../benchmarks/results/{path.name}) | {target} | "
            f"{sum(r.win for r in overall)}/{len(overall)} | {sum(r.win for r in rows)}/{len(rows)} | "
            f"{', '.join(not_won) if not_won else 'none'} | {', '.join(losses) if losses else 'none'} | " + " | ".join(shown) + " |")


def run_table(results: Path = RESULTS) -> str:
    """The whole Markdown table, header first."""
    lines = [HEADER, "|" + "---|" * (6 + len(SHOWN))]
    lines += [table_row(path) for path in tables(results)]
    return "\n".join(lines)


def card_block(text: str) -> str:
    """The table between the run-table markers of a model card's ``text``; ValueError without them."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"no single {START.strip()} ... {END} block")
    return text.split(START, 1)[1].split(END, 1)[0]


def write_card(card: Path, table: str) -> None:
    """Replace the table between ``card``'s run-table markers with ``table``; nothing else changes (written whole or not at all)."""
    from ehrfeat.paths import atomic_file

    text = card.read_text(encoding="utf-8")
    old = card_block(text)
    with atomic_file(card) as tmp:  # a write cut short leaves the card as it was
        tmp.write_text(text.replace(START + old + END, START + table + "\n" + END, 1), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of ehrfeat evaluate --markdown tables")
    parser.add_argument("--write", type=Path, nargs="+", metavar="CARD", help="put the table into these model cards (between their run-table markers)")
    args = parser.parse_args(argv)
    if not args.results.is_dir() or not tables(args.results):
        sys.stderr.write(f"error: {args.results} holds no hiprbert-mini-v*-eval.md table; pass --results with the folder of ehrfeat evaluate --markdown tables\n")
        return 2
    try:
        table = run_table(args.results)
    except ValueError as err:
        sys.stderr.write(f"error: {err}; move it out of {args.results} or write it again with ehrfeat evaluate --markdown\n")
        return 2
    if not args.write:
        sys.stdout.write(table + "\n")
        return 0
    for card in args.write:  # every card is checked before any is written
        try:
            card_block(card.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            sys.stderr.write(f"error: {card}: {err}; add the {START.strip()} and {END} lines where the table goes\n")
            return 2
    for card in args.write:
        write_card(card, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
