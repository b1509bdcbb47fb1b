"""What each distinct stored value of an OMOP table became: the raw material of the coverage report."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ehrfeat.reasons import keep_example

__all__ = ["KINDS", "ValueUsage", "coverage_lines", "coverage_report"]

# How a distinct value gets (or does not get) a code: through its concept, a recognised source
# code, its source value as text, or not at all.
KINDS = ("concept", "source_code", "source_text", "unresolved")


@dataclass(frozen=True)
class ValueUsage:
    """One distinct stored value of a domain table: a concept id (``kind == "concept"``) or a source value."""

    domain: str
    kind: str  # one of KINDS
    value: str  # the concept id, or the source value as stored (trailing blanks kept)
    key: tuple[str, str] | None  # (system, code) it is keyed by; None when unresolved
    reason: str | None  # why it is unresolved
    rows: int


def coverage_report(
    usage: Iterable[ValueUsage],
    has_vector: Callable[[tuple[str, str]], bool],
    missing_reason: Callable[[tuple[str, str]], str],
    systems: Collection[str] | None = None,
) -> dict[str, Any]:
    """Per domain table: distinct values and rows that got a vector through a concept, a recognised
    source code, their text, or that are unresolved (by reason), with up to 5 examples each.

    A keyed value whose code got no vector counts as unresolved (``missing_reason(key)``); with
    ``systems``, values keyed in other systems count as ``excluded``. Every row of every table is
    in exactly one kind. JSON-ready.
    """
    tables: dict[str, dict[str, Any]] = {}
    for u in sorted(usage, key=lambda u: (u.domain, -u.rows, u.value)):  # examples: the most frequent values
        kind, reason = u.kind, u.reason
        if u.key is not None and systems is not None and u.key[0] not in systems:
            kind, reason = "excluded", None
        elif u.key is not None and not has_vector(u.key):
            kind, reason = "unresolved", missing_reason(u.key)
        table = tables.setdefault(u.domain, {"rows": 0, "values": 0})
        table["rows"] += u.rows
        table["values"] += 1
        shown = u.value.strip()
        example = shown if u.key is None or kind == "source_text" else f"{shown} -> {u.key[0]}:{u.key[1]}"
        _count(table.setdefault(kind, _bucket()), u.rows, example)
        if kind == "source_code" and u.key is not None:
            by_system = table[kind].setdefault("systems", {})
            by_system[u.key[0]] = by_system.get(u.key[0], 0) + 1
        if kind == "unresolved":
            _count(table[kind].setdefault("reasons", {}).setdefault(reason or "unknown", _bucket()), u.rows, example)
    total: dict[str, Any] = {"rows": 0, "values": 0}
    for name in sorted(tables):
        table = tables[name]
        for kind in KINDS:
            table.setdefault(kind, _bucket())
        total["rows"] += table["rows"]
        total["values"] += table["values"]
        for kind in (*KINDS, "excluded"):
            if kind in table:
                t = total.setdefault(kind, {"values": 0, "rows": 0})
                t["values"] += table[kind]["values"]
                t["rows"] += table[kind]["rows"]
    return {"tables": {name: tables[name] for name in sorted(tables)}, "total": total}


def coverage_lines(report: Mapping[str, Any]) -> list[str]:
    """The coverage report as a table for the terminal: distinct values / rows per kind."""
    kinds = [k for k in (*KINDS, "excluded") if k in report["total"]]
    heads = {"concept": "concept", "source_code": "source code", "source_text": "text", "unresolved": "unresolved",
             "excluded": "excluded"}
    out = ["coverage (distinct values / rows):", "  " + f"{'table':<12}" + "".join(f"{heads[k]:>20}" for k in kinds)]
    rows = [*report["tables"].items(), ("all", report["total"])]
    for name, table in rows:
        cells = "".join(f"{table[k]['values']:>10} / {table[k]['rows']:<7}" for k in kinds if k in table)
        out.append(f"  {name:<12}{cells}")
    for name, table in report["tables"].items():
        for reason, bucket in sorted(table["unresolved"].get("reasons", {}).items()):
            examples = ", ".join(bucket["examples"])
            out.append(f"  {name} unresolved: {reason}: {bucket['values']} values, {bucket['rows']} rows, e.g. {examples}")
    return out


def _bucket() -> dict[str, Any]:
    return {"values": 0, "rows": 0, "examples": []}


def _count(bucket: dict[str, Any], rows: int, example: str) -> None:
    bucket["values"] += 1
    bucket["rows"] += rows
    keep_example(bucket, "examples", example)
