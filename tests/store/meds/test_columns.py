"""MEDS shard columns: the type check names the shard and the fix; times become int64 microseconds."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from ehrfeat.errors import SchemaError
from ehrfeat.store.meds.columns import NAT, check_shard_schema, time_us


def test_the_meds_data_schema_passes_and_a_wrong_column_is_named() -> None:
    good = pa.schema([("subject_id", pa.int64()), ("time", pa.timestamp("us")), ("code", pa.dictionary(pa.int32(), pa.string())),
                      ("numeric_value", pa.null())])
    check_shard_schema(Path("data/0.parquet"), good)
    check_shard_schema(Path("data/1.parquet"), pa.schema([("subject_id", pa.int32()), ("time", pa.date32()), ("code", pa.large_string())]))
    with pytest.raises(SchemaError, match=r"data/2.parquet has no column 'code' \(it has: subject_id, time\)") as missing:
        check_shard_schema(Path("data/2.parquet"), pa.schema([("subject_id", pa.int64()), ("time", pa.timestamp("us"))]))
    assert missing.value.code == "E1504" and "meds.DataSchema" in missing.value.fix
    with pytest.raises(SchemaError, match=r"column 'numeric_value' is string, not float32") as wrong:
        check_shard_schema(Path("data/3.parquet"), pa.schema([("subject_id", pa.int64()), ("time", pa.timestamp("ms")),
                                                             ("code", pa.string()), ("numeric_value", pa.string())]))
    assert wrong.value.fix.startswith("cast it to float32")


def test_times_of_any_unit_or_dates_are_int64_microseconds_and_nulls_nat() -> None:
    us = 1_577_836_800_000_000  # 2020-01-01
    seconds = pa.chunked_array([pa.array([1_577_836_800, None], pa.timestamp("s"))])
    assert time_us(seconds).tolist() == [us, NAT]
    assert time_us(pa.array([dt.date(2020, 1, 1)], pa.date32())).tolist() == [us]
    zoned = pa.array([us], pa.timestamp("us", tz="UTC"))
    out = time_us(zoned)
    assert out.dtype == np.int64 and out.tolist() == [us]
