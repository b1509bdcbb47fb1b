"""The cohort and each patient's as-of time: one date for all, a table of (patient, date), or none.

Rows of an as-of table that cannot be used are counted, never fatal: patients the
database does not know, null or unparsable dates, and patients listed twice (the
earliest as-of is kept, the safe choice against leakage).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ehrfeat.errors import InputError
from ehrfeat.patients.timing import NAT, parse_as_of
from ehrfeat.store.dates import null_mask, parse_times
from ehrfeat.store.records import sorted_unique

__all__ = ["AS_OF_COLUMNS", "PATIENT_COLUMNS", "AsOf", "as_int", "cohort_from_rows", "parse_dates", "resolve_as_of"]

AS_OF_COLUMNS = ("as_of", "as_of_date", "index_date", "index_time", "time", "date")
PATIENT_COLUMNS = ("patient_id", "person_id")

UNKNOWN_PATIENT = "patient not in the database (row ignored)"
NULL_DATE = "null as-of date (row ignored)"
BAD_DATE = "unparsable as-of date (row ignored)"
BAD_ID = "patient id not an integer (row ignored)"
REPEATED = "patient listed more than once (earliest as-of kept)"


@dataclass(frozen=True)
class AsOf:
    """Sorted unique ``patient_ids`` with their as-of (epoch seconds; ``NAT`` = the run's start)."""

    patient_ids: np.ndarray
    as_of_s: np.ndarray
    now_s: int
    explicit: bool
    issues: dict[str, int] = field(default_factory=dict)


def parse_dates(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """(seconds with NAT, is-null mask) of date values, read by the one time reader of events."""
    if isinstance(values, np.ndarray):
        arr = values
    else:
        arr = np.empty(len(items := list(values)), dtype=object)
        arr[:] = items
    seconds = parse_times(arr).times.view(np.int64)
    if arr.dtype.kind == "M":
        null = np.isnat(arr)
    elif arr.dtype.kind == "f":
        null = np.isnan(arr)
    elif arr.dtype.kind in "iub":
        null = np.zeros(len(arr), dtype=bool)
    else:
        null = null_mask(arr.tolist())
    return seconds, null


def cohort_from_rows(ids: Any, dates: Any, known: np.ndarray | None, now_s: int) -> AsOf:
    """An :class:`AsOf` from parallel ``ids`` and ``dates``; rows that cannot be used are counted."""
    issues: Counter[str] = Counter()
    raw_ids = np.asarray(ids, dtype=object)
    numeric = np.array([as_int(v) for v in raw_ids.tolist()], dtype=object)
    bad_id = np.array([v is None for v in numeric.tolist()], dtype=bool)
    issues[BAD_ID] += int(bad_id.sum())
    seconds, null = parse_dates(dates)
    ok = ~bad_id
    issues[NULL_DATE] += int((ok & null).sum())
    ok &= ~null
    issues[BAD_DATE] += int((ok & (seconds == NAT)).sum())
    ok &= seconds != NAT
    pid = np.array([v if v is not None else -1 for v in numeric.tolist()], dtype=np.int64)
    if known is not None:
        unknown = ok & ~np.isin(pid, known)
        issues[UNKNOWN_PATIENT] += int(unknown.sum())
        ok &= ~unknown
    pid, seconds = pid[ok], seconds[ok]
    order = np.lexsort((seconds, pid))
    pid, seconds = pid[order], seconds[order]
    first = np.ones(len(pid), bool)
    first[1:] = pid[1:] != pid[:-1]
    issues[REPEATED] += int((~first).sum())
    return AsOf(pid[first], seconds[first], now_s, True, {k: v for k, v in issues.items() if v})


def as_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return int(value) if float(value).is_integer() else None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def resolve_as_of(
    engine: Any, schema: Any, *, as_of: Any = None, table: str | None = None, column: str | None = None, now_s: int
) -> AsOf:
    """All patients of the database (with one as-of, or none), or the patients of an as-of table."""
    from ehrfeat.store.events import patient_ids

    if as_of is not None and table is not None:
        raise InputError("give either an as-of date or an as-of table, not both", fix="drop --as-of or --as-of-table", code="E136")
    known = sorted_unique(np.asarray(patient_ids(engine, schema), dtype=np.int64))
    if table is not None:
        ids, dates = _read_as_of_table(engine, table, column)
        return cohort_from_rows(ids, dates, known, now_s)
    if as_of is None:
        return AsOf(known, np.full(len(known), NAT, np.int64), now_s, False)
    value = parse_as_of(as_of).astype(np.int64)
    return AsOf(known, np.full(len(known), int(value), np.int64), now_s, True)


def _read_as_of_table(engine: Any, table: str, column: str | None) -> tuple[list[Any], list[Any]]:
    import sqlalchemy as sa

    from ehrfeat.store.database import column_names, table_names, validate_identifier

    validate_identifier(table, "table")
    names = table_names(engine)
    if table.lower() not in names:
        raise InputError(
            f"as-of table {table!r} is not in the database",
            fix=f"create it with columns patient_id and as_of (or index_date); tables present: {', '.join(sorted(names.values()))}",
            code="E137",
        )
    actual = names[table.lower()]
    columns = column_names(engine, actual)  # the store's reflection (works on DuckDB too)
    patient = next((columns[c] for c in PATIENT_COLUMNS if c in columns), None)
    date = columns.get(column.lower()) if column else next((columns[c] for c in AS_OF_COLUMNS if c in columns), None)
    if patient is None or date is None:
        wanted = column or " or ".join(AS_OF_COLUMNS)
        raise InputError(
            f"as-of table {actual!r} needs a patient_id column and a date column ({wanted}); it has {', '.join(columns.values())}",
            fix="rename the columns, or name the date column with --as-of-column",
            code="E138",
        )
    clause = sa.table(actual, sa.column(patient), sa.column(date))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(clause.c[patient], clause.c[date])).all()
    return [r[0] for r in rows], [r[1] for r in rows]
