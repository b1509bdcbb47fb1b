"""Small MEDS datasets written in-test (with the ``meds`` schemas), and the same events as native and OMOP databases.

A pytest plugin of ``tests/conftest.py``: the ``meds_dir`` fixture serves every package's tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ehrfeat.store.meds.write import write_meds_dataset

# (subject, time, MEDS code): three subjects over two shards.
EVENTS = [
    (1, "2020-01-01T00:00", "DIAGNOSIS//ICD//10//E119"),
    (1, "2020-02-01T00:00", "ICD10CM/I10"),
    (1, "2020-03-01T00:00", "LAB//4548-4//UNK"),
    (1, "2020-04-01T00:00", "DIAGNOSIS//ICD//10//E119"),
    (2, "2020-01-15T00:00", "ICD10CM/I10"),
    (2, "2020-03-01T00:00", "DIAGNOSIS//ICD//9//4280"),
    (3, "2020-05-01T00:00", "MEDICATION//START//metformin"),
]


def write_events(root: Path, events=EVENTS, descriptions=None, n_shards: int = 2) -> Path:
    sid = np.asarray([e[0] for e in events], np.int64)
    times = np.asarray([e[1] for e in events], "datetime64[us]")
    codes = np.asarray([e[2] for e in events], dtype=object)
    write_meds_dataset(root, sid, times, codes, descriptions=descriptions or {"LAB//4548-4//UNK": "Hemoglobin A1c"},
                       n_shards=n_shards)
    return root


def write_labels(path: Path, rows: list[tuple[int | None, str | None, bool]]) -> Path:
    table = pa.table({
        "subject_id": pa.array([r[0] for r in rows], pa.int64()),
        "prediction_time": pa.array([None if r[1] is None else np.datetime64(r[1], "us") for r in rows], pa.timestamp("us")),
        "boolean_value": pa.array([r[2] for r in rows], pa.bool_()),
    })
    pq.write_table(table, path)
    return path


@pytest.fixture
def meds_dir(tmp_path: Path) -> Path:
    return write_events(tmp_path / "meds")
