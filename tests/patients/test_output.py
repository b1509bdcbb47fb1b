from __future__ import annotations

import numpy as np
import pytest

from ehrfeat.errors import InputError
from ehrfeat.patients import patient_vectors
from ehrfeat.patients.output import read_vectors, write_vectors


@pytest.mark.parametrize("name", ["v.parquet", "v.npy"])
def test_round_trip_keeps_ids_flags_columns_and_settings(db, tmp_path, name):
    v = patient_vectors(db, by_system=True, as_of="2020-01-01")
    written = write_vectors(v, tmp_path / name)
    back = read_vectors(written[0])
    np.testing.assert_array_equal(back.patient_ids, v.patient_ids)
    np.testing.assert_array_equal(back.matrix, v.matrix)
    np.testing.assert_array_equal(back.no_codes, v.no_codes)
    np.testing.assert_array_equal(back.n_events, v.n_events)
    assert back.columns == v.columns and back.columns[0] == "ICD10CM_emb_000"
    assert back.params["as_of"] == "2020-01-01" and back.params["database"] == str(db)
    if name.endswith(".npy"):
        assert [p.name for p in written] == ["v.npy", "v.ids.csv", "v.meta.json"]


def test_parquet_columns_are_named_and_typed(db, tmp_path):
    import pyarrow.parquet as pq

    write_vectors(patient_vectors(db), tmp_path / "v.parquet")
    schema = pq.read_schema(tmp_path / "v.parquet")
    assert schema.names == ["patient_id", "n_events", "no_codes", "emb_000", "emb_001", "emb_002", "emb_003"]
    assert str(schema.field("emb_000").type) == "float"


def test_unknown_suffix_and_missing_anndata_are_clear_errors(db, tmp_path):
    v = patient_vectors(db)
    with pytest.raises(InputError, match=r"\.parquet"):
        write_vectors(v, tmp_path / "v.csv")
    try:
        import anndata  # noqa: F401
    except ImportError:
        with pytest.raises(InputError, match="anndata"):
            write_vectors(v, tmp_path / "v.h5ad")
