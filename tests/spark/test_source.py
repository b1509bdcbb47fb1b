"""SparkSource's table lookups: a DataFrame, a parquet path or a catalog name; columns matched case-insensitively."""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.errors import InputError, SchemaError
from ehrfeat.spark.source import catalog_has, column_names, need_columns, table

pytestmark = pytest.mark.slow


def test_table_reads_a_frame_a_parquet_path_and_a_catalog_name(spark, tmp_path: Path) -> None:
    frame = spark.createDataFrame([(1, "E11")], ["Patient_ID", "code"])
    assert table(spark, frame) is frame
    frame.write.parquet(str(tmp_path / "events.parquet"))
    assert table(spark, tmp_path / "events.parquet").collect() == frame.collect()
    frame.createOrReplaceTempView("split300_events")
    assert catalog_has(spark, "tableExists", "split300_events")
    assert table(spark, "split300_events").collect() == frame.collect()
    assert not catalog_has(spark, "tableExists", "not a/valid name")  # the catalog cannot parse it: False, no error
    with pytest.raises(InputError, match="'nowhere' is neither a parquet path nor a Spark table") as missing:
        table(spark, "nowhere", "events")
    assert missing.value.code == "E1605"


def test_columns_are_matched_case_insensitively_and_missing_ones_named(spark) -> None:
    frame = spark.createDataFrame([(1, "E11")], ["Patient_ID", "code"])
    assert column_names(frame) == {"patient_id": "Patient_ID", "code": "code"}
    assert need_columns(frame, ("patient_id",), "events", "add it") == {"patient_id": "Patient_ID", "code": "code"}
    with pytest.raises(SchemaError, match=r"events has no column time, code_system \(it has: Patient_ID, code\)") as err:
        need_columns(frame, ("patient_id", "time", "code_system"), "events", "add them")
    assert err.value.code == "E1606" and err.value.fix == "add them"
