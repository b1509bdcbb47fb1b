"""Event rows from PostgreSQL as CSV, parsed by pyarrow: ``(patient, code column, seconds)`` blocks with no Python object per row.

The row stream of the database path on PostgreSQL (:mod:`ehrfeat.store.coded_postgresql`)
asks the server only to scan the events and join the code map; ``COPY ... (FORMAT
csv)`` sends the rows (:mod:`ehrfeat.store.pg_stream`) and pyarrow's CSV reader parses
each block in C++. Text times come as stored and are read here, as the SQLite path
reads them: strict ISO text from the Arrow bytes, every other distinct value by the
time reader once (:func:`~ehrfeat.store.coded_events.text_seconds`). Measured at 10M
events, grouping exact repeats and joining a map of 3.3M distinct time texts on the
server took more time (30 s of server CPU) than sending every row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ehrfeat.store.coded_events import dictionary_seconds
from ehrfeat.store.pg_stream import copy_blocks

__all__ = ["csv_rows"]


def csv_rows(conn: Any, query: str, params: Any, *, text_times: bool) -> Iterator[np.ndarray]:
    """``(n, 3)`` int64 blocks of ``query``'s rows ``(pid, col, t)``: ``t`` raw text when ``text_times``, else seconds.

    ``pid`` and ``col`` must never be NULL; a NULL text time is read as blank (null).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv

    time_type = pa.large_string() if text_times else pa.int64()
    read = csv.ReadOptions(column_names=["pid", "col", "t"], use_threads=True)
    parse = csv.ParseOptions(newlines_in_values=True)  # a quoted text time may hold a newline
    # NULL is PostgreSQL's unquoted empty field and nothing else: pyarrow would also take "NULL", "NA", "nan" ... for null
    convert = csv.ConvertOptions(column_types={"pid": pa.int64(), "col": pa.int64(), "t": time_type}, null_values=[""],
                                 strings_can_be_null=True, quoted_strings_can_be_null=False)
    known: dict[object, int] = {}  # odd time texts (offsets, blanks, numbers) read by the time reader, across blocks
    for data in copy_blocks(conn, query, params, copy_options="(FORMAT csv)"):
        table = csv.read_csv(pa.py_buffer(data), read_options=read, parse_options=parse, convert_options=convert)
        pid = table.column("pid").to_numpy()
        col = table.column("col").to_numpy()
        times = table.column("t").combine_chunks()
        # a NULL text time is blank, as the time reader reads it
        secs = dictionary_seconds(pc.fill_null(times, ""), known) if text_times else times.to_numpy()
        yield np.column_stack([pid, col, secs]).astype(np.int64, copy=False)
