"""Query results from PostgreSQL as numpy blocks: ``COPY (query) TO STDOUT (FORMAT BINARY)``, parsed by numpy.

Fetching millions of rows through a cursor makes a Python tuple per row (14 s of
client CPU for 10M grouped rows, measured); the binary COPY format is a fixed
layout per row when every column is a non-null ``bigint`` or ``double precision``:
a 2-byte field count, then per field a 4-byte length and 8 big-endian bytes. numpy
reads whole blocks of such rows at once. The server streams the rows as it makes
them (memory stays bounded: :data:`BLOCK_BYTES` at a time), and COPY of a query runs
inside the caller's transaction, read-only ones included.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["BLOCK_BYTES", "CopyBlock", "copy_columns"]

BLOCK_BYTES = 16 << 20  # parse this much at a time
SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = len(SIGNATURE) + 8  # flags and header-extension length (0)


@dataclass(frozen=True)
class CopyBlock:
    """Rows of one block: the ``bigint`` columns, then the ``double precision`` ones (each ``(rows, k)``)."""

    ints: np.ndarray
    floats: np.ndarray


def _layout(ints: int, floats: int) -> np.dtype:
    fields = [("count", ">i2")]
    for i in range(ints + floats):
        fields += [(f"len{i}", ">i4"), (f"v{i}", ">i8" if i < ints else ">f8")]
    return np.dtype(fields)


def _parse(buffer: bytes | bytearray | memoryview, layout: np.dtype, ints: int, floats: int) -> CopyBlock:
    rows = np.frombuffer(buffer, dtype=layout)
    width = ints + floats
    if len(rows) and ((rows["count"] != width).any() or any((rows[f"len{i}"] != 8).any() for i in range(width))):
        raise ValueError("COPY row is not the expected fixed layout (a NULL or a column of another type)")
    as_int = np.empty((len(rows), ints), np.int64)
    for i in range(ints):
        as_int[:, i] = rows[f"v{i}"]
    as_float = np.empty((len(rows), floats), np.float64)
    for j in range(floats):
        as_float[:, j] = rows[f"v{ints + j}"]
    return CopyBlock(as_int, as_float)


def copy_columns(conn: Any, query: str, params: Any = None, *, ints: int, floats: int = 0) -> Iterator[CopyBlock]:
    """Blocks of ``query``'s rows: its first ``ints`` columns ``bigint``, the next ``floats`` ``double precision``, no NULLs.

    ``conn`` is a psycopg 3 connection; ``params`` are bound on the client (:func:`~ehrfeat.store.pg_stream.copy_blocks`).
    """
    from ehrfeat.store import pg_stream

    layout = _layout(ints, floats)
    size = layout.itemsize
    buffer = bytearray()
    started = False
    for data in pg_stream.copy_blocks(conn, query, params, copy_options="(FORMAT BINARY)", block_bytes=BLOCK_BYTES):
        buffer += data
        if not started and len(buffer) >= _HEADER:
            if bytes(buffer[: len(SIGNATURE)]) != SIGNATURE:
                raise ValueError("not a PostgreSQL binary COPY stream")
            del buffer[:_HEADER]
            started = True
        if started and len(buffer) >= BLOCK_BYTES:
            whole = len(buffer) // size * size
            yield _parse(memoryview(buffer)[:whole].tobytes(), layout, ints, floats)
            del buffer[:whole]
    if not started:
        raise ValueError("the COPY stream ended before its header")
    if bytes(buffer[-2:]) != b"\xff\xff":  # the trailer: a field count of -1
        raise ValueError("the COPY stream ended without its trailer")
    del buffer[-2:]
    if len(buffer) % size:
        raise ValueError("the COPY stream ended inside a row")
    if buffer:
        yield _parse(bytes(buffer), layout, ints, floats)
