"""The demo written as MEDS: the same patients give the same vectors as the native database, end to end
(embed-codes with a real encoder on both, then patient vectors at the demo's index date)."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from ehrfeat.demo import make_demo_db
from ehrfeat.embed import embed_codes
from ehrfeat.embed_meds import embed_meds_codes
from ehrfeat.models import load_encoder
from ehrfeat.patients.meds_vectors import meds_patient_vectors
from ehrfeat.patients.vectors import patient_vectors
from ehrfeat.store.meds import open_meds
from ehrfeat.store.meds.write import native_to_meds, write_label_table

SYSTEMS = ["ICD10CM", "ICD9CM", "HPO", "LOINC", "RxNorm"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    db = root / "demo.db"
    make_demo_db(db, n_patients=120, seed=3)
    return db


@pytest.mark.parametrize("style", ["meds_etl", "mixed"])
def test_demo_as_meds_gives_the_native_vectors(demo, tmp_path, tiny_bert, style):
    encoder = load_encoder(tiny_bert)
    summary = native_to_meds(demo, tmp_path / "meds", style=style, n_shards=3)
    assert summary.subjects == 120 and summary.shards == 3
    ids = np.arange(1, 121)
    labels = write_label_table(tmp_path / "labels.parquet", ids, np.full(120, "2025-01-01", "datetime64[us]"),
                               boolean_value=[bool(i % 2) for i in ids])
    embed_codes(demo, encoder=encoder)
    report = embed_meds_codes(tmp_path / "meds", encoder=encoder)
    assert report.codes_found > 100
    systems = SYSTEMS if style == "meds_etl" else SYSTEMS[:3]  # MIMIC style names labs LAB and drugs MEDICATION
    native = patient_vectors(demo, as_of="2025-01-01", systems=systems)
    meds = meds_patient_vectors(tmp_path / "meds", labels=labels, as_of_rule="strict", systems=systems)
    assert list(meds.subject_id) == list(native.patient_ids)
    assert meds.labels["boolean_value"].to_pylist() == [bool(i % 2) for i in ids]
    # mixed: two code strings for one code (two ETL styles) with the same text, so the same vectors
    np.testing.assert_allclose(meds.matrix, native.matrix, atol=1e-5)
    np.testing.assert_array_equal(meds.n_events, native.n_events)
    assert np.abs(meds.matrix).sum() > 0


def test_demo_meds_dataset_is_valid_meds(demo, tmp_path):
    import meds

    native_to_meds(demo, tmp_path / "meds", style="mixed", n_shards=2)
    dataset = open_meds(tmp_path / "meds")
    for shard in dataset.shards:
        assert pq.read_schema(shard).equals(meds.DataSchema.schema())
    codes = pq.read_table(dataset.codes_path).column("code").to_pylist()
    assert any(c.startswith("DIAGNOSIS//ICD//10//") for c in codes) and any(c.startswith("ICD10CM/") for c in codes)
    assert "MEDS_BIRTH" in codes
