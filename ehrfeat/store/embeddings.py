"""The ``code_embeddings`` cache: one float32 vector per (encoder fingerprint, system, code).

Rows of different encoders are kept apart by fingerprint and never mixed. Every
write is one transaction that inserts whole rows only, so a process killed at any
moment leaves either a committed batch or nothing, and a re-run completes the
job with exactly one row per code.

Bulk writes take the driver's fast path: PostgreSQL (psycopg 3) gets one ``COPY ... FROM
STDIN`` per batch, other databases one batched ``executemany`` INSERT, never a statement per row.

The table, for SQL users::

    code_embeddings(fingerprint VARCHAR(64), code_system VARCHAR(64), code VARCHAR(128),  -- primary key
                    text TEXT, dim INTEGER, vector BLOB/BYTEA, model TEXT, created_at VARCHAR(32))

``vector`` holds ``dim`` IEEE-754 float32 values, little-endian, ``4 * dim`` bytes, L2-normalised
(numpy: ``np.frombuffer(vector, "<f4")``). In PostgreSQL one component is
``get_byte(vector, 4*i) | get_byte(vector, 4*i+1) << 8 | ...`` reinterpreted as float4; the
OMOP convention ``code_system``/``code`` joins to CONCEPT through ``vocabulary_id``/``concept_code``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import sqlalchemy as sa

from ehrfeat.codes import Code, canonical_system
from ehrfeat.errors import DatabaseError, InputError, SchemaError
from ehrfeat.store.database import column_names, in_batches, masked_url, read_error, validate_identifier
from ehrfeat.store.locks import write_transaction

__all__ = ["DEFAULT_TABLE", "MAX_CODE_CHARS", "MAX_SYSTEM_CHARS", "CodeEmbeddings", "EmbeddingCache"]

logger = logging.getLogger(__name__)

DEFAULT_TABLE = "code_embeddings"
_COLUMNS = ("fingerprint", "code_system", "code", "text", "dim", "vector", "model", "created_at")


@dataclass(frozen=True)
class CodeEmbeddings:
    """The cached vectors of one encoder: ``matrix[i]`` embeds ``codes[i]`` described by ``texts[i]``."""

    fingerprint: str
    codes: tuple[Code, ...]
    texts: tuple[str, ...]
    matrix: np.ndarray  # (n, dim) float32, L2-normalised

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])


MAX_CODE_CHARS = 128  # the code column's width (VARCHAR on PostgreSQL): longer codes are skipped and counted
MAX_SYSTEM_CHARS = 64


def _define(metadata: sa.MetaData, name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("code_system", sa.String(MAX_SYSTEM_CHARS), primary_key=True),
        sa.Column("code", sa.String(MAX_CODE_CHARS), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("dim", sa.Integer, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.Column("model", sa.Text),
        sa.Column("created_at", sa.String(32)),
    )


def _copy_rows(conn: sa.Connection, table: str, rows: list[dict[str, object]]) -> None:
    """PostgreSQL's COPY, inside the caller's transaction (psycopg 3)."""
    from psycopg import sql

    raw = conn.connection.driver_connection
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in _COLUMNS))
    with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row([row[c] for c in _COLUMNS])


class EmbeddingCache:
    """Read and write the code-embedding table of one database."""

    def __init__(self, engine: sa.Engine, table: str = DEFAULT_TABLE) -> None:
        self.engine = engine
        self.table_name = validate_identifier(table, "table")
        self._table = _define(sa.MetaData(), self.table_name)

    # -- schema ---------------------------------------------------------------
    def exists(self) -> bool:
        """Whether the table is there; a database that cannot be reached is E205 naming it without its password."""
        try:
            return sa.inspect(self.engine).has_table(self.table_name)
        except sa.exc.DBAPIError as exc:
            raise read_error(self.engine, exc) from exc

    def ensure_table(self) -> None:
        """Create the table, or check that an existing one has the expected columns."""
        if self.exists():
            found = set(column_names(self.engine, self.table_name))
            missing = [c for c in _COLUMNS if c not in found]
            if missing:
                raise SchemaError(
                    f"table {self.table_name!r} exists but lacks columns {missing}",
                    fix="write the embeddings to another table (--table) or another database (--out)",
                    code="E216",
                )
            return
        try:  # under the write lock: two runs creating the table at once do not collide
            with write_transaction(self.engine, f"embeddings:{self.table_name}", masked_url(self.engine)) as conn:
                self._table.metadata.create_all(conn, tables=[self._table], checkfirst=True)
        except sa.exc.SQLAlchemyError as exc:
            raise DatabaseError(f"cannot create table {self.table_name!r}: {exc}", code="E208") from exc

    # -- reading --------------------------------------------------------------
    def fingerprints(self) -> dict[str, int]:
        """Each encoder fingerprint present, with its row count."""
        if not self.exists():
            return {}
        t = self._table
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.fingerprint, sa.func.count()).group_by(t.c.fingerprint))
            return {fp: int(n) for fp, n in rows}

    def keys(self, fingerprint: str) -> set[Code]:
        """The codes already embedded by the encoder ``fingerprint``."""
        if not self.exists():
            return set()
        t = self._table
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.c.code_system, t.c.code).where(t.c.fingerprint == fingerprint))
            return {Code(s, c) for s, c in rows}

    def resolve_fingerprint(self, fingerprint: str | None = None, *, default: Callable[[], str] | None = None) -> str:
        """``fingerprint`` if present, else the only one in the table, else (when several are present)
        ``default()``, the fingerprint of the default encoder, if its rows are there; a clear error otherwise.
        """
        present = self.fingerprints()
        if fingerprint is not None:
            if fingerprint not in present:
                raise InputError(
                    f"no embeddings of encoder {fingerprint} in table {self.table_name!r}",
                    fix=f"run `ehrfeat embed-codes` with that model first; present: {sorted(present) or 'none'}",
                    code="E120",
                )
            return fingerprint
        if not present:
            raise InputError(
                f"table {self.table_name!r} holds no code embeddings",
                fix="run `ehrfeat embed-codes DB` first",
                code="E121",
            )
        if len(present) > 1 and default is not None and (preferred := default()) in present:
            return preferred
        if len(present) > 1:
            raise InputError(
                f"table {self.table_name!r} holds embeddings of {len(present)} encoders: {sorted(present)}",
                fix="choose one with --model (or --fingerprint)",
                code="E122",
            )
        return next(iter(present))

    def load(
        self,
        fingerprint: str | None = None,
        systems: Sequence[str] | None = None,
        *,
        default: Callable[[], str] | None = None,
    ) -> CodeEmbeddings:
        """All vectors of one encoder (optionally of some systems only), as one matrix.

        ``default`` breaks the tie when several encoders' rows are present (see :meth:`resolve_fingerprint`).
        """
        fp = self.resolve_fingerprint(fingerprint, default=default)
        t = self._table
        query = sa.select(t.c.code_system, t.c.code, t.c.text, t.c.dim, t.c.vector).where(t.c.fingerprint == fp)
        if systems:
            query = query.where(t.c.code_system.in_([canonical_system(s) for s in systems]))
        codes: list[Code] = []
        texts: list[str] = []
        blobs: list[bytes] = []
        dim = 0
        with self.engine.connect() as conn:
            for system, code, text, row_dim, blob in conn.execute(query.order_by(t.c.code_system, t.c.code)):
                if (dim and row_dim != dim) or len(blob) != 4 * row_dim:
                    raise DatabaseError(
                        f"corrupt embedding row {system}:{code} in {self.table_name!r} (dim {row_dim}, {len(blob)} bytes)",
                        fix=f"delete the rows of fingerprint {fp} and run embed-codes again",
                        code="E209",
                    )
                dim = row_dim
                codes.append(Code(system, code))
                texts.append(text)
                blobs.append(blob)
        matrix = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(codes), dim) if codes else np.zeros((0, 0), np.float32)
        return CodeEmbeddings(fp, tuple(codes), tuple(texts), matrix.astype(np.float32, copy=False))

    # -- writing --------------------------------------------------------------
    def write(
        self,
        fingerprint: str,
        items: Sequence[tuple[Code, str]],
        vectors: np.ndarray,
        *,
        model: str | None = None,
    ) -> int:
        """Insert one batch in one transaction; rows already present are left as they are.

        Returns the number of rows inserted.
        """
        vectors = np.ascontiguousarray(vectors, dtype="<f4")
        if vectors.ndim != 2 or len(items) != vectors.shape[0]:
            raise InputError(f"{len(items)} codes but vectors of shape {vectors.shape}", code="E123")
        if not np.isfinite(vectors).all():
            raise InputError("the encoder returned non-finite values; nothing was written", code="E124")
        t = self._table
        now = datetime.now(UTC).isoformat(timespec="seconds")
        dim = int(vectors.shape[1])
        with write_transaction(self.engine, f"embeddings:{self.table_name}:{fingerprint}", masked_url(self.engine)) as conn:
            present = self._present(conn, fingerprint, [code for code, _ in items])
            rows = [
                {
                    "fingerprint": fingerprint,
                    "code_system": code.system,
                    "code": code.code,
                    "text": text,
                    "dim": dim,
                    "vector": vectors[i].tobytes(),
                    "model": model,
                    "created_at": now,
                }
                for i, (code, text) in enumerate(items)
                if code not in present
            ]
            if rows and conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
                _copy_rows(conn, self.table_name, rows)
            elif rows:
                conn.execute(sa.insert(t), rows)
        return len(rows)

    def _present(self, conn: sa.Connection, fingerprint: str, codes: Iterable[Code]) -> set[Code]:
        t = self._table
        by_system: dict[str, list[str]] = {}
        for code in codes:
            by_system.setdefault(code.system, []).append(code.code)
        found: set[Code] = set()
        for system, values in by_system.items():
            for batch in in_batches(values):
                query = sa.select(t.c.code).where(
                    t.c.fingerprint == fingerprint, t.c.code_system == system, t.c.code.in_(batch)
                )
                found.update(Code(system, c) for (c,) in conn.execute(query))
        return found
