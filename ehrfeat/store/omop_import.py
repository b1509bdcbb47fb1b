"""Load OMOP CDM CSV files (a folder or a .zip) into a database, one table per file.

* File names are matched case-insensitively (``CONCEPT.csv`` -> table ``concept``);
  ``__MACOSX/`` entries and dot files are ignored; files whose name is not a
  valid table name are listed in :attr:`ImportReport.skipped_files`.
* Comma- or tab-separated is detected from the header line (:mod:`ehrfeat.store.omop_csv_files`). Tab-separated
  files (OMOP Athena vocabularies) are read without quote processing, as
  Athena writes them.
* Bytes that are not UTF-8 are decoded as U+FFFD (never a failed import);
  the rows affected (rows containing U+FFFD after decoding) are counted per
  table in :attr:`ImportReport.decode_errors` and logged.
* Column types: ``*_date``/``*_datetime``/``*_time`` and code/name/value
  columns (``concept_code``, ``*_source_value``...) are TEXT, dates kept as ISO
  text (Athena's ``yyyymmdd`` dates are rewritten ``yyyy-mm-dd``); other columns
  are BIGINT or REAL when every value of the whole file is (a first pass reads the
  file for the types), else TEXT. Empty fields are NULL. NUL bytes (which
  PostgreSQL refuses in text) are removed, and the rows counted per table in
  :attr:`ImportReport.nul_removed`.
* DuckDB targets (``duckdb:///omop.duckdb``) load each file with DuckDB's own CSV reader
  (``read_csv``), same types and rules (:mod:`ehrfeat.store.omop_import_duckdb`).
* Everything is written in one transaction: an error leaves the database as it
  was. A non-empty existing table is refused unless ``replace=True``.
"""

from __future__ import annotations

import csv
import itertools
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ehrfeat.errors import DatabaseError, InputError
from ehrfeat.store.database import masked_url, open_database, table_names, validate_identifier
from ehrfeat.store.locks import write_transaction
from ehrfeat.store.omop_csv_files import CsvMember, csv_members, csv_rows
from ehrfeat.store.omop_import_duckdb import load_with_duckdb
from ehrfeat.store.search_path import in_schemas

__all__ = ["ImportReport", "import_omop"]

logger = logging.getLogger(__name__)

_DATE = re.compile(r"_(date|datetime|time)$")
_TEXT = re.compile(r"_(code|value|name|string|reason|text|title|version|abbreviation|reference|description|holder)$")
_INT = re.compile(r"-?(0|[1-9][0-9]{0,17})")
_FLOAT = re.compile(r"-?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?")
_YMD = re.compile(r"(1[89]|2[01])[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])")
_INDEXED = ("concept_id", "person_id")


@dataclass(frozen=True)
class ImportReport:
    """What :func:`import_omop` loaded: rows per table, rows with undecodable bytes, files left out."""

    target: str
    tables: Mapping[str, int] = field(default_factory=dict)
    decode_errors: Mapping[str, int] = field(default_factory=dict)
    skipped_files: Mapping[str, str] = field(default_factory=dict)
    nul_removed: Mapping[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.tables.values())


def import_omop(
    source: str | os.PathLike[str], target_db: str | os.PathLike[str], *, chunk_size: int = 50_000, replace: bool = False,
    schema: str | None = None,
) -> ImportReport:
    """Load every OMOP CSV of ``source`` (folder or .zip) into ``target_db`` (path or URL), in its server schema
    ``schema`` when given; see the module doc."""
    if chunk_size < 1:
        raise InputError(f"chunk_size must be at least 1, not {chunk_size}", fix="use e.g. 50_000", code="E105")
    members, skipped = csv_members(Path(source))
    created = _new_file(target_db)
    engine = in_schemas(open_database(target_db, must_exist=False), schema)
    try:
        return _import(engine, members, skipped, target_db, chunk_size, replace)
    except BaseException:
        engine.dispose()
        if created is not None:  # a failed import leaves no empty database file behind
            for path in (created, *(created.with_name(created.name + s) for s in ("-journal", "-wal", "-shm", ".wal"))):
                path.unlink(missing_ok=True)
        raise


def _new_file(target: str | os.PathLike[str]) -> Path | None:
    """The file a SQLite/DuckDB target names when it does not exist yet (this run creates it), else None."""
    text = os.fspath(target)
    for prefix in ("sqlite:///", "duckdb:///"):
        if text.startswith(prefix):
            text = text[len(prefix):].split("?", 1)[0]
            break
    else:
        if "://" in text:
            return None
    if not text or text == ":memory:":
        return None
    path = Path(text).expanduser()
    return None if path.exists() else path


def _import(engine: Engine, members: list[CsvMember], skipped: dict[str, str], target_db: str | os.PathLike[str],
            chunk_size: int, replace: bool) -> ImportReport:
    _refuse_existing(engine, [m.table for m in members], replace)
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 30))
    tables: dict[str, int] = {}
    decode_errors: dict[str, int] = {}
    nul_removed: dict[str, int] = {}
    with write_transaction(engine, "import-omop", masked_url(engine)) as conn:
        for member in members:
            tables[member.table], bad, nul = _load(conn, member, chunk_size, replace)
            if bad:
                decode_errors[member.table] = bad
                logger.warning("%s: %d rows had bytes that are not UTF-8 (replaced by U+FFFD)", member.name, bad)
            if nul:
                nul_removed[member.table] = nul
                logger.warning("%s: %d rows had NUL bytes (removed)", member.name, nul)
            logger.info("imported %s: %d rows", member.table, tables[member.table])
    engine.dispose()
    return ImportReport(masked_url(target_db), tables, decode_errors, skipped, nul_removed)


def _refuse_existing(engine: sa.Engine, tables: list[str], replace: bool) -> None:
    existing = table_names(engine)
    full = []
    with engine.connect() as conn:
        for t in tables:
            if t in existing and conn.execute(sa.select(sa.literal(1)).select_from(sa.table(existing[t])).limit(1)).first():
                full.append(existing[t])
    if full and not replace:
        raise DatabaseError(f"tables {', '.join(full)} already exist in {masked_url(engine)} and are not empty",
                            fix="pass --replace (replace=True) to overwrite them, or import into a new database file",
                            code="E206")


def _load(conn: sa.Connection, member: CsvMember, chunk_size: int, replace: bool) -> tuple[int, int, int]:
    with member.open() as raw:
        header, reader, line_num = csv_rows(raw, member.name)
        columns = [c.strip().lower() for c in header]
        for col in columns:
            try:
                validate_identifier(col, "column")
            except InputError as exc:
                raise InputError(f"{member.name}: {exc.message}", fix=exc.fix, code=exc.code) from exc
        if len(set(columns)) != len(columns):
            raise InputError(f"{member.name} repeats a column name in its header", fix="give each column one name", code="E107")
        existing = {n.lower(): n for n in sa.inspect(conn).get_table_names()}
        if member.table in existing:  # empty, or replace=True (checked before the transaction began)
            sa.Table(existing[member.table], sa.MetaData()).drop(conn)
        if conn.dialect.name == "duckdb":
            sample = [row for row in itertools.islice(reader, chunk_size) if row]
            kinds = [_kind(col, [r[i] for r in sample if i < len(r) and r[i] != ""]) for i, col in enumerate(columns)]
            loaded = load_with_duckdb(conn, member.table, member.open, columns, kinds, create_table)
            if loaded is not None:
                return loaded, 0, 0
            reader = itertools.chain(sample, reader)  # not UTF-8: the Python path below replaces the bad bytes
        kinds = _kinds(member, columns)
        n_rows = n_bad = n_nul = 0
        table: sa.Table | None = None
        convert: list[Callable[[str], Any]] = []
        while True:
            chunk = []
            for row in itertools.islice(reader, chunk_size):
                if not row:
                    continue
                if len(row) != len(columns):
                    raise InputError(f"{member.name} line {line_num()}: {len(row)} fields, the header has {len(columns)}",
                                     fix="check the delimiter and quoting of that line", code="E107")
                chunk.append(row)
            if table is None:
                table, convert = create_table(conn, member.table, columns, kinds), [_CONVERTERS[k] for k in kinds]
            if not chunk:
                break
            n_bad += sum(1 for row in chunk if any("\ufffd" in f for f in row))
            for j, row in enumerate(chunk):
                if any("\x00" in f for f in row):
                    chunk[j] = [f.replace("\x00", "") for f in row]
                    n_nul += 1
            conn.execute(table.insert(), [{c: f(v) for c, f, v in zip(columns, convert, row, strict=True)} for row in chunk])
            n_rows += len(chunk)
        return n_rows, n_bad, n_nul


def _kind(col: str, values: list[str]) -> str:
    """int, float, date or text: the rules of the module doc, on the non-empty values of a sample."""
    if _DATE.search(col):
        return "date"
    if _TEXT.search(col):
        return "text"
    if values and all(_INT.fullmatch(v) for v in values):
        return "int"
    if values and all(_FLOAT.fullmatch(v) for v in values) and not any(_leading_zero(v) for v in values):
        return "float"
    return "int" if not values and col.endswith("_id") else "text"


def create_table(conn: sa.Connection, name: str, columns: list[str], kinds: list[str]) -> sa.Table:
    """The table with its column types (and indexes on concept_id/person_id)."""
    integer = sa.BigInteger()  # ids above 2^31 (PostgreSQL's and DuckDB's INTEGER are 32-bit)
    double = sa.Float().with_variant(sa.Double(), "duckdb")  # DuckDB's FLOAT is 32-bit
    types: list[Any] = [{"int": integer, "float": double}.get(kind, sa.Text()) for kind in kinds]
    table = sa.Table(name, sa.MetaData(), *(sa.Column(c, t) for c, t in zip(columns, types, strict=True)))
    table.create(conn)
    for col in _INDEXED:
        if col in columns:
            sa.Index(f"ix_{name}_{col}"[:63], table.c[col]).create(conn)
    return table


def _kinds(member: CsvMember, columns: list[str]) -> list[str]:
    """First pass over the whole file: each column's kind, and every line's width checked before any insert."""
    n = len(columns)
    all_int, all_float, zero, seen = [True] * n, [True] * n, [False] * n, [False] * n
    with member.open() as raw:
        _, reader, line_num = csv_rows(raw, member.name)
        for row in reader:
            if not row:
                continue
            if len(row) != n:
                raise InputError(f"{member.name} line {line_num()}: {len(row)} fields, the header has {n}",
                                 fix="check the delimiter and quoting of that line", code="E107")
            for i, v in enumerate(row):
                if v == "":
                    continue
                seen[i] = True
                if all_int[i] and not _INT.fullmatch(v):
                    all_int[i] = False
                if all_float[i] and not all_int[i] and not _FLOAT.fullmatch(v):
                    all_float[i] = False
                if not zero[i] and _leading_zero(v):
                    zero[i] = True
    kinds = []
    for i, col in enumerate(columns):
        if _DATE.search(col):
            kinds.append("date")
        elif _TEXT.search(col):
            kinds.append("text")
        elif not seen[i]:
            kinds.append("int" if col.endswith("_id") else "text")
        elif all_int[i]:
            kinds.append("int")
        elif all_float[i] and not zero[i] and not col.endswith("_id"):
            kinds.append("float")
        else:
            kinds.append("text")
    return kinds




def _leading_zero(v: str) -> bool:
    digits = v.lstrip("-")
    return len(digits) > 1 and digits[0] == "0" and digits[1] != "."


def _to_int(v: str) -> Any:
    return None if v == "" else int(v) if _INT.fullmatch(v) else v


def _to_float(v: str) -> Any:
    if v == "":
        return None
    try:
        return float(v)
    except ValueError:
        return v


def _to_date(v: str) -> Any:
    if v == "":
        return None
    return f"{v[:4]}-{v[4:6]}-{v[6:]}" if _YMD.fullmatch(v) else v


_CONVERTERS: dict[str, Callable[[str], Any]] = {"int": _to_int, "float": _to_float, "date": _to_date,
                                                "text": lambda v: None if v == "" else v}
