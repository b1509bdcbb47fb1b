"""Base and trained side by side: one row per metric, one column per model, the delta and its 95% interval.

A row is a win only when the lower end of the paired bootstrap interval of the
delta is above zero (:mod:`ehrfeat.evaluation.bootstrap`), so a +0.002 that
resampling cannot tell from zero is not called one. Results without intervals
(files written before them) fall back to the sign of the delta.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["LAY_COLUMNS", "METRIC_COLUMNS", "SOURCE_METRICS", "format_report", "metric_value", "report_rows", "winner_rows"]

LAY_COLUMNS = ("lay_hpo@1", "lay_hpo@3", "lay_mesh@1", "lay_mesh@3", "lay_doid@1", "lay_doid@3")
METRIC_COLUMNS = (
    "auc_0v1", "auc_0v2", "auc_0v3", "auc_1v2", "auc_1v3", "auc_2v3", "spearman", "syn_acc@1", "syn_acc@5",
    "link_icd10cm@1", "link_icd10cm@5", "link_hpo@1", "link_hpo@5", *LAY_COLUMNS,
)
SOURCE_METRICS = ("auc_0v1", "auc_0v2", "auc_0v3", "auc_1v2", "auc_1v3", "auc_2v3", "spearman")  # rows ``source:metric``


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not math.isnan(value) else None


def _cell(value: Any) -> str:
    number = _number(value)
    return "-" if number is None else f"{number:.4f}"


def metric_value(metrics: Mapping[str, Any], row: str) -> float | None:
    """The value of ``row`` (``auc_0v1``, or ``icd10cm:auc_0v1`` from ``by_source``) in one model's metrics."""
    if ":" in row:
        source, name = row.split(":", 1)
        return _number(metrics.get("by_source", {}).get(source, {}).get(name))
    return _number(metrics.get(row))


def report_rows(results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The rows some model reports: the overall metrics, then each source's hierarchy metrics."""
    names = list(results)
    sources = sorted({s for n in names for s in results[n].get("by_source", {})})
    candidates = [*METRIC_COLUMNS, *(f"{s}:{m}" for s in sources for m in SOURCE_METRICS)]
    return [r for r in candidates if any(metric_value(results[n], r) is not None for n in names)]


def _interval(results: Mapping[str, Mapping[str, Any]], row: str) -> tuple[float, float] | None:
    names = list(results)
    ci = results[names[1]].get("ci95", {}).get(row) if len(names) >= 2 else None
    if ci is None or any(_number(x) is None for x in ci):
        return None
    return float(ci[0]), float(ci[1])


def _bound(x: float) -> str:
    """An interval end at 4 places, or at as many as its sign needs (+0.000026, not +0.0000: a win hangs on it)."""
    shown = f"{x:+.4f}"
    return f"{x:+.6f}" if x != 0 and float(shown) == 0 else shown


def winner_rows(results: Mapping[str, Mapping[str, Any]]) -> dict[str, bool]:
    """For two models, row -> whether the second beats the first (rows both report).

    A win needs the lower end of the 95% interval of the difference above zero;
    without an interval, a positive difference.
    """
    names = list(results)
    first, last = (results[n] for n in names[:2])
    out = {}
    for row in report_rows(results):
        x, y = metric_value(first, row), metric_value(last, row)
        if x is not None and y is not None:
            ci = _interval(results, row)
            out[row] = ci[0] > 0 if ci is not None else y > x
    return out


def format_report(results: Mapping[str, Mapping[str, Any]], *, markdown: bool = False) -> str:
    """A table with one row per metric, a column per model (e.g. ``base``, ``trained``), the delta,
    its 95% bootstrap interval and whether the row is a win.

    ``markdown=True`` writes a Markdown table (for model cards).
    """
    names = list(results)
    pair = len(names) == 2
    header = ["metric", *names] + (["delta", "95% CI", "win"] if pair else [])
    wins = winner_rows(results) if pair else {}
    body = []
    for row in report_rows(results):
        cells = [row, *(_cell(metric_value(results[n], row)) for n in names)]
        if pair:
            x, y = metric_value(results[names[0]], row), metric_value(results[names[1]], row)
            ci = _interval(results, row)
            cells.append(f"{y - x:+.4f}" if x is not None and y is not None else "-")
            cells.append(f"[{_bound(ci[0])}, {_bound(ci[1])}]" if ci is not None else "-")
            cells.append("yes" if wins.get(row) else "no" if row in wins else "-")
        body.append(cells)
    first_row = results[names[0]] if names else {}
    counts = f"held-out pairs: {first_row.get('pairs', 0)}, synonym queries: {first_row.get('synonym_queries', 0)}"
    for key, label in (("linking", "linking"), ("lay", "lay-mention")):
        counts += "".join(f", {t} {label} queries: {v.get('queries', 0)} against {v.get('index', 0)} names" for t, v in first_row.get(key, {}).items())
    boot = results[names[-1]].get("bootstrap") if pair else None
    if boot:
        by = ", by concept" if boot.get("unit") == "concept" else ""
        counts += f"; 95% CI: paired bootstrap{by}, {boot.get('resamples')} resamples, seed {boot.get('seed')}; win: CI above 0"
    ran = [f"{n}: {results[n]['encoder']}" for n in names if results[n].get("encoder")]
    if ran:
        counts += "; encoders: " + ", ".join(ran)
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join([*lines, "", f"({counts})"])
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    fmt = lambda r: "  ".join(x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(r, widths, strict=True)))  # noqa: E731
    lines = [fmt(header), "-" * len(fmt(header)), *(fmt(r) for r in body)]
    return "\n".join([*lines, f"({counts})"])
