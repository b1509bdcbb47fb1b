"""Base and trained side by side: one table, every metric in a column."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["METRIC_COLUMNS", "format_report"]

METRIC_COLUMNS = ("auc_0v1", "auc_0v2", "auc_0v3", "auc_1v2", "auc_1v3", "auc_2v3", "spearman", "syn_acc@1", "syn_acc@5")


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def format_report(results: Mapping[str, Mapping[str, Any]]) -> str:
    """A text table with one row per model (e.g. ``base`` and ``trained``) and a delta row."""
    names = list(results)
    width = max(8, *(len(n) for n in names))
    header = f"{'model':<{width}} " + " ".join(f"{c:>9}" for c in METRIC_COLUMNS)
    lines = [header, "-" * len(header)]
    for name in names:
        lines.append(f"{name:<{width}} " + " ".join(f"{_cell(results[name].get(c)):>9}" for c in METRIC_COLUMNS))
    if len(names) == 2:
        first, last = results[names[0]], results[names[1]]
        deltas = []
        for c in METRIC_COLUMNS:
            x, y = first.get(c), last.get(c)
            ok = isinstance(x, float) and isinstance(y, float) and not (math.isnan(x) or math.isnan(y))
            deltas.append(f"{y - x:+.4f}" if ok else "-")  # type: ignore[operator]
        lines.append(f"{'delta':<{width}} " + " ".join(f"{d:>9}" for d in deltas))
    first_row = results[names[0]] if names else {}
    lines.append(f"(held-out pairs: {first_row.get('pairs', 0)}, synonym queries: {first_row.get('synonym_queries', 0)})")
    return "\n".join(lines)
