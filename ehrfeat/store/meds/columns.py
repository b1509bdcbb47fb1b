"""The columns of a MEDS data shard: their type check, and the time column as int64 microseconds.

A shard holds ``subject_id`` (an integer), ``time`` (a timestamp of any unit, or a
date; null for static rows), ``code`` (a string, or a dictionary of strings) and,
optionally, ``numeric_value`` (a float or integer); a missing column or one of
another type stops the run (:func:`check_shard_schema`) naming the shard and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ehrfeat.errors import SchemaError

__all__ = ["NAT", "check_shard_schema", "time_us"]

NAT = np.iinfo(np.int64).min
_FIX_SCHEMA = "write shards with the MEDS data schema (meds.DataSchema): subject_id int64, time timestamp[us], code string"


def check_shard_schema(shard: Path, schema: Any) -> None:
    """Refuse a shard whose pyarrow ``schema`` lacks ``subject_id``, ``time`` or ``code``, or has a column of the wrong type."""
    import pyarrow as pa

    checks = {
        "subject_id": (pa.types.is_integer, "int64"),
        "time": (lambda t: pa.types.is_timestamp(t) or pa.types.is_date(t), "timestamp[us]"),
        "code": (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)
                 or (pa.types.is_dictionary(t) and pa.types.is_string(t.value_type)), "string"),
        "numeric_value": (lambda t: pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_null(t), "float32"),
    }
    for name, (ok, expected) in checks.items():
        if name not in schema.names:
            if name == "numeric_value":
                continue
            raise SchemaError(f"MEDS shard {shard} has no column {name!r} (it has: {', '.join(schema.names)})",
                              fix=_FIX_SCHEMA, code="E1504")
        found = schema.field(name).type
        if not ok(found):
            raise SchemaError(f"MEDS shard {shard}: column {name!r} is {found}, not {expected}",
                              fix=f"cast it to {expected}; {_FIX_SCHEMA}", code="E1504")


def time_us(column: Any) -> np.ndarray:
    """A pyarrow time column (timestamp of any unit, or date) as int64 microseconds, ``NAT`` where null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_date(column.type):
        column = column.cast(pa.timestamp("us"))
    if pa.types.is_timestamp(column.type) and (column.type.unit != "us" or column.type.tz is not None):
        column = column.cast(pa.timestamp("us"), safe=False)
    ints = column.cast(pa.int64())
    return np.asarray(pc.fill_null(ints, NAT).to_numpy(zero_copy_only=False), dtype=np.int64)
