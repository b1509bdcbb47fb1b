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


@pytest.mark.parametrize("name", ["v.parquet", "v.npy"])
def test_an_earlier_output_is_replaced_and_anything_else_kept(db, tmp_path, name):
    from ehrfeat.patients.output import check_vectors_target

    v = patient_vectors(db)
    written = write_vectors(v, tmp_path / name)
    assert write_vectors(v, tmp_path / name) == written  # ehrfeat's own files: replaced
    for path in written:
        check_vectors_target(tmp_path / name)
        kept = path.read_bytes()
        path.write_bytes(b"someone else's")
        with pytest.raises(InputError, match="E1204") as info:
            write_vectors(v, tmp_path / name)
        assert path.name in str(info.value) and "new file name" in (info.value.fix or "")
        assert path.read_bytes() == b"someone else's"
        path.write_bytes(kept)
