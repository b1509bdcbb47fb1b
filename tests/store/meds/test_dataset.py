"""Reading MEDS folders shard by shard: code counts, and almost-MEDS folders (clear errors, counted skips)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from ehrfeat.errors import SchemaError
from ehrfeat.store.meds import MedsReadReport, distinct_meds_codes, looks_like_meds, open_meds
from ehrfeat.store.meds.dataset import NOT_PARQUET, NULL_CODE, OUT_OF_ORDER, STATIC
from tests.meds_data import write_events


def test_distinct_codes_count_events_and_subjects_across_shards_and_batches(meds_dir):
    dataset = open_meds(meds_dir)
    assert [p.name for p in dataset.shards] == ["0.parquet", "1.parquet"]
    for batch_size in (2, 1000):  # subject 1's rows span batches of 2
        report = MedsReadReport()
        codes = {c.code: (c.n_events, c.n_subjects) for c in distinct_meds_codes(dataset, report, batch_size)}
        assert report.rows_read == 7
        assert codes["DIAGNOSIS//ICD//10//E119"] == (2, 1)
        assert codes["ICD10CM/I10"] == (2, 2)
        assert len(codes) == 5
    assert dataset.descriptions() == {"LAB//4548-4//UNK": "Hemoglobin A1c"}
    assert list(dataset.subject_ids()) == [1, 2, 3]


def test_batches_of_two_rows_give_the_same_subject_counts(meds_dir):
    dataset = open_meds(meds_dir)
    rows = [b for b in dataset.iter_batches(batch_size=2)]
    assert sum(len(b) for b in rows) == 7 and max(len(b) for b in rows) == 2


def test_missing_data_folder(tmp_path):
    (tmp_path / "m" / "metadata").mkdir(parents=True)
    assert looks_like_meds(tmp_path / "m")
    with pytest.raises(SchemaError) as err:
        open_meds(tmp_path / "m")
    assert err.value.code == "E1502" and "no data/ folder" in str(err.value)


def test_a_shard_that_is_not_parquet_stops_the_run_naming_it(meds_dir):
    (meds_dir / "data" / "broken.parquet").write_text("subject_id,time,code\n1,2020-01-01,X\n")
    with pytest.raises(SchemaError) as err:
        open_meds(meds_dir)
    assert err.value.code == "E1503" and "broken.parquet" in str(err.value)


def test_wrong_column_type_names_the_file_column_and_fix(meds_dir):
    pq.write_table(pa.table({"subject_id": ["a"], "time": [np.datetime64("2020-01-01", "us")], "code": ["X"]}),
                   meds_dir / "data" / "2.parquet")
    with pytest.raises(SchemaError) as err:
        open_meds(meds_dir)
    text = str(err.value)
    assert err.value.code == "E1504" and "2.parquet" in text and "'subject_id'" in text and "int64" in text


def test_null_codes_out_of_order_times_static_rows_and_other_files_are_counted(tmp_path):
    root = tmp_path / "m"
    (root / "data").mkdir(parents=True)
    table = pa.table({
        "subject_id": pa.array([1, 1, 1, 1, 2], pa.int64()),
        "time": pa.array([None, "2020-03-01", "2020-01-01", "2020-04-01", "2020-01-01"], pa.string()).cast(pa.timestamp("us")),
        "code": pa.array(["Gender/F", "A", None, "B", " "], pa.string()),
    })
    pq.write_table(table, root / "data" / "0.parquet")
    (root / "data" / "README.txt").write_text("not a shard")
    report = MedsReadReport()
    codes = distinct_meds_codes(open_meds(root), report)
    assert sorted(c.code for c in codes) == ["A", "B", "Gender/F"]
    counts = report.counts()
    assert counts[NULL_CODE] == 2 and counts[STATIC] == 1 and counts[NOT_PARQUET] == 1
    assert OUT_OF_ORDER not in counts  # the null code row is skipped, so A then B stay in order
    table = table.set_column(2, "code", pa.array(["Gender/F", "A", "C", "B", "D"], pa.string()))
    pq.write_table(table, root / "data" / "0.parquet")
    report = MedsReadReport()
    distinct_meds_codes(open_meds(root), report)
    assert report.counts()[OUT_OF_ORDER] == 1 and "data/0.parquet" in report.skips.examples[OUT_OF_ORDER]


def test_cli_exits_2_on_an_almost_meds_folder(tmp_path):
    (tmp_path / "m" / "metadata").mkdir(parents=True)
    result = CliRunner().invoke(app, ["embed-codes", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "E1502" in result.output and "data/" in result.output


def test_writer_uses_the_meds_schemas(tmp_path):
    import meds

    root = write_events(tmp_path / "m")
    shard = pq.read_table(root / "data" / "0.parquet")
    assert shard.schema.equals(meds.DataSchema.schema())
    assert pq.read_schema(root / "metadata" / "codes.parquet").equals(meds.CodeMetadataSchema.schema())
    assert pq.read_schema(root / "metadata" / "subject_splits.parquet").equals(meds.SubjectSplitSchema.schema())
    times = shard.column("time").to_numpy()
    subjects = shard.column("subject_id").to_numpy()
    assert all((subjects[i], times[i]) <= (subjects[i + 1], times[i + 1]) for i in range(len(times) - 1))
