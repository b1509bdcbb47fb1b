"""DuckDB's own CSV reader for :func:`ehrfeat.store.import_omop` (``duckdb:///omop.duckdb``).

The column types come from the same rules as the generic path (a sample of the first rows);
the file is then read by ``read_csv`` (all fields as text) and converted in SQL: ``''`` is
NULL, Athena's ``yyyymmdd`` dates become ``yyyy-mm-dd``, and an INTEGER or REAL column with a
value that does not convert is made TEXT instead (nothing is lost). Tab-separated files are
read without quote processing, as Athena writes them. A file that is not valid UTF-8 is left
to the generic path, which replaces the bad bytes and counts the rows.
"""

from __future__ import annotations

import codecs
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

__all__ = ["load_with_duckdb"]

_YMD = "(1[89]|2[01])[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])"
_CAST = {"int": "BIGINT", "float": "DOUBLE"}


def load_with_duckdb(
    conn: sa.Connection,
    table: str,
    open_member: Callable[[], IO[bytes]],
    columns: list[str],
    kinds: list[str],
    create: Callable[[sa.Connection, str, list[str], list[str]], sa.Table],
) -> int | None:
    """Load one CSV member into ``table`` (not yet created); the row count, or None if it is not UTF-8."""
    with tempfile.TemporaryDirectory(prefix="ehrfeat-duckdb-") as tmp:
        path = Path(tmp) / "member.csv"
        with open_member() as src, path.open("wb") as dst:
            if not _copy_checking_utf8(src, dst):
                return None
        with path.open("rb") as fh:
            first = fh.readline().decode("utf-8-sig")
        tab = first.count("\t") > first.count(",")
        names = ", ".join(f"'{c}'" for c in columns)  # validated identifiers
        options = (f"header=true, all_varchar=true, names=[{names}], "
                   + ("delim='\\t', quote='', escape=''" if tab else "delim=',', quote='\"', escape='\"'"))
        source = f"read_csv('{str(path).replace(chr(39), chr(39) * 2)}', {options})"
        kinds = _checked_kinds(conn, source, columns, kinds)
        create(conn, table, columns, kinds)
        exprs = ", ".join(_convert(c, k) for c, k in zip(columns, kinds, strict=True))
        conn.exec_driver_sql(f'INSERT INTO "{table}" SELECT {exprs} FROM {source}')
        return int(conn.exec_driver_sql(f'SELECT COUNT(*) FROM "{table}"').scalar_one())


def _copy_checking_utf8(src: IO[bytes], dst: IO[bytes]) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := src.read(1 << 20):
            decoder.decode(chunk)
            dst.write(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _checked_kinds(conn: sa.Connection, source: str, columns: list[str], kinds: list[str]) -> list[str]:
    """INTEGER/REAL columns whose every value converts keep their kind; the others become text."""
    numeric = [(i, c, k) for i, (c, k) in enumerate(zip(columns, kinds, strict=True)) if k in _CAST]
    if not numeric:
        return kinds
    checks = ", ".join(f'COUNT(*) FILTER (WHERE "{c}" IS NOT NULL AND TRY_CAST(trim("{c}") AS {_CAST[k]}) IS NULL)'
                       for _, c, k in numeric)
    bad = conn.exec_driver_sql(f"SELECT {checks} FROM {source}").one()
    out = list(kinds)
    for (i, _, _), n in zip(numeric, bad, strict=True):
        if n:
            out[i] = "text"
    return out


def _convert(col: str, kind: str) -> Any:
    q = f'"{col}"'
    if kind in _CAST:
        return f"CAST(trim({q}) AS {_CAST[kind]})"
    if kind == "date":
        return (f"CASE WHEN regexp_full_match({q}, '{_YMD}') "
                f"THEN substr({q}, 1, 4) || '-' || substr({q}, 5, 2) || '-' || substr({q}, 7, 2) ELSE {q} END")
    return q
