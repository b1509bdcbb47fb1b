"""Base and trained side by side: one row per metric, one column per model, and the delta."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["METRIC_COLUMNS", "format_report", "winner_rows"]

METRIC_COLUMNS = (
    "auc_0v1", "auc_0v2", "auc_0v3", "auc_1v2", "auc_1v3", "auc_2v3", "spearman", "syn_acc@1", "syn_acc@5",
    "link_icd10cm@1", "link_icd10cm@5", "link_hpo@1", "link_hpo@5",
)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not math.isnan(value) else None


def _cell(value: Any) -> str:
    number = _number(value)
    return "-" if number is None else f"{number:.4f}"


def winner_rows(results: Mapping[str, Mapping[str, Any]]) -> dict[str, bool]:
    """For two models, metric -> whether the second beats the first (metrics both report)."""
    first, last = (results[n] for n in list(results)[:2])
    out = {}
    for c in METRIC_COLUMNS:
        x, y = _number(first.get(c)), _number(last.get(c))
        if x is not None and y is not None:
            out[c] = y > x
    return out


def format_report(results: Mapping[str, Mapping[str, Any]], *, markdown: bool = False) -> str:
    """A table with one row per metric, a column per model (e.g. ``base``, ``trained``) and a delta.

    ``markdown=True`` writes a Markdown table (for model cards).
    """
    names = list(results)
    rows = [c for c in METRIC_COLUMNS if any(_number(results[n].get(c)) is not None for n in names)]
    header = ["metric", *names] + (["delta"] if len(names) == 2 else [])
    body = []
    for c in rows:
        cells = [c, *(_cell(results[n].get(c)) for n in names)]
        if len(names) == 2:
            x, y = _number(results[names[0]].get(c)), _number(results[names[1]].get(c))
            cells.append(f"{y - x:+.4f}" if x is not None and y is not None else "-")
        body.append(cells)
    first_row = results[names[0]] if names else {}
    linking = first_row.get("linking", {})
    counts = f"held-out pairs: {first_row.get('pairs', 0)}, synonym queries: {first_row.get('synonym_queries', 0)}"
    counts += "".join(f", {t} linking queries: {v.get('queries', 0)} against {v.get('index', 0)} names" for t, v in linking.items())
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join([*lines, "", f"({counts})"])
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    fmt = lambda r: "  ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(r, widths, strict=True)))  # noqa: E731
    lines = [fmt(header), "-" * len(fmt(header)), *(fmt(r) for r in body)]
    return "\n".join([*lines, f"({counts})"])
