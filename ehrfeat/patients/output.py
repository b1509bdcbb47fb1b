"""Write and read patient vectors: parquet (default), ``.npy`` + ids file, or AnnData ``.h5ad``.

Parquet: columns ``patient_id``, ``n_events``, ``no_codes``, then ``emb_000 ..`` (or
``ICD10CM_emb_000 ..`` per block), float32; the run's settings are stored as JSON in
the schema metadata under ``ehrfeat``. ``.npy``: the float32 matrix, plus
``NAME.ids.csv`` (patient_id, n_events, no_codes) and ``NAME.meta.json`` (columns,
settings). ``.h5ad`` needs the ``anndata`` extra.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ehrfeat.errors import InputError
from ehrfeat.paths import atomic_file, check_output_file, json_has_keys, parquet_has_columns
from ehrfeat.patients.results import PatientVectors

__all__ = ["check_vectors_target", "read_vectors", "write_vectors"]

META_KEY = b"ehrfeat"
_FLAGS = ("patient_id", "n_events", "no_codes")


def _sidecars(path: Path) -> tuple[Path, Path]:
    stem = path.with_suffix("")
    return stem.with_name(stem.name + ".ids.csv"), stem.with_name(stem.name + ".meta.json")


_SUFFIXES = (".parquet", ".npy", ".h5ad")


def check_vectors_target(path: str | Path) -> Path:
    """Refuse, before any work, an output the run could not write: unknown format, missing or read-only folder."""
    path = Path(path)
    if path.suffix.lower() not in _SUFFIXES:
        raise InputError(
            f"cannot tell the output format of {path.name!r}",
            fix="end the file name with .parquet, .npy (plus an ids file) or .h5ad (AnnData)",
            code="E141",
        )
    if not path.parent.is_dir():
        raise InputError(f"folder {path.parent} does not exist", fix=f"mkdir -p {path.parent}", code="E140")
    if path.suffix.lower() == ".h5ad":
        _import_anndata()  # before the work, not after it
    files = [path, *_sidecars(path)] if path.suffix.lower() == ".npy" else [path]
    for file in files:
        check_output_file(file, "vectors file", ours=_is_ours)
    return path


def _is_ours(file: Path) -> bool:
    """``file`` is one that :func:`write_vectors` writes (so a new run may replace it)."""
    name = file.name.lower()
    if name.endswith(".ids.csv"):
        with file.open("rb") as fh:
            return fh.readline().strip() == ",".join(_FLAGS).encode()
    if name.endswith(".meta.json"):
        return json_has_keys(file, ("columns", "params"))
    if name.endswith(".npy"):
        try:
            array = np.load(file, mmap_mode="r")  # reads the header only; never unpickles
        except (OSError, ValueError):
            return False
        return isinstance(array, np.ndarray) and array.ndim == 2 and array.dtype == np.float32
    if name.endswith(".h5ad"):
        import h5py

        try:
            with h5py.File(file, "r") as h5:
                return "uns" in h5 and "ehrfeat" in h5["uns"]
        except OSError:
            return False
    return parquet_has_columns(file, _FLAGS)


def write_vectors(vectors: PatientVectors, path: str | Path) -> list[Path]:
    """Write ``vectors`` in the format named by the suffix of ``path``; returns the files written."""
    path = check_vectors_target(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = [pa.array(vectors.patient_ids, pa.int64()), pa.array(vectors.n_events, pa.int64()), pa.array(vectors.no_codes)]
        arrays += [pa.array(np.ascontiguousarray(vectors.matrix[:, j])) for j in range(vectors.matrix.shape[1])]
        schema = pa.schema(
            [pa.field(n, a.type) for n, a in zip((*_FLAGS, *vectors.columns), arrays, strict=True)],
            metadata={META_KEY: json.dumps(vectors.params).encode()},
        )
        with atomic_file(path) as tmp:  # a killed run never leaves half a file
            pq.write_table(pa.Table.from_arrays(arrays, schema=schema), tmp)
        return [path]
    if suffix == ".npy":
        ids_path, meta_path = _sidecars(path)
        with atomic_file(path) as tmp, atomic_file(ids_path) as tmp_ids, atomic_file(meta_path) as tmp_meta:
            np.save(tmp, vectors.matrix)
            vectors.to_frame()[list(_FLAGS)].to_csv(tmp_ids, index=False)
            tmp_meta.write_text(json.dumps({"columns": list(vectors.columns), "params": vectors.params}, indent=1))
        return [path, ids_path, meta_path]
    if suffix == ".h5ad":
        anndata = _import_anndata()
        import pandas as pd

        obs = pd.DataFrame(
            {"n_events": vectors.n_events, "no_codes": vectors.no_codes}, index=[str(p) for p in vectors.patient_ids]
        )
        obs.index.name = "patient_id"
        adata = anndata.AnnData(X=vectors.matrix, obs=obs, var=pd.DataFrame(index=list(vectors.columns)))
        adata.uns["ehrfeat"] = json.dumps(vectors.params)
        with atomic_file(path) as tmp:
            adata.write_h5ad(tmp)
        return [path]
    raise InputError(
        f"cannot tell the output format of {path.name!r}",
        fix="end the file name with .parquet, .npy (plus an ids file) or .h5ad (AnnData)",
        code="E141",
    )


def _import_anndata() -> Any:
    try:
        import anndata
    except ImportError as exc:
        raise InputError(
            "AnnData output needs the anndata package", fix="pip install 'ehrfeat[anndata]', or write .parquet", code="E142"
        ) from exc
    return anndata


def read_vectors(path: str | Path) -> PatientVectors:
    """Read what :func:`write_vectors` wrote (parquet, npy or h5ad)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"vectors file {path} does not exist", fix="write one with `ehrfeat patient-vectors DB --out FILE`", code="E143")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise InputError(f"{path} is not a readable parquet file: {exc}",
                             fix="give the .parquet (or .npy, .h5ad) file written by `ehrfeat patient-vectors`", code="E144") from exc
        names = table.column_names
        if "patient_id" not in names:
            raise InputError(f"{path} has no patient_id column", fix="write it with `ehrfeat patient-vectors`", code="E144")
        columns = tuple(n for n in names if n not in _FLAGS)
        matrix = np.column_stack([table.column(n).to_numpy().astype(np.float32) for n in columns]) if columns else np.zeros((table.num_rows, 0), np.float32)
        ids = table.column("patient_id").to_numpy().astype(np.int64)
        n_events = table.column("n_events").to_numpy() if "n_events" in names else np.zeros(len(ids), np.int64)
        no_codes = table.column("no_codes").to_numpy() if "no_codes" in names else ~matrix.any(axis=1)
        raw = (table.schema.metadata or {}).get(META_KEY)
        return PatientVectors(ids, matrix, columns, n_events, np.asarray(no_codes, bool), None, json.loads(raw) if raw else {})
    if suffix == ".npy":
        import pandas as pd

        ids_path, meta_path = _sidecars(path)
        if not ids_path.is_file():
            raise InputError(f"{path} has no ids file {ids_path.name} next to it", code="E145")
        frame = pd.read_csv(ids_path)
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        matrix = np.load(path).astype(np.float32, copy=False)
        columns = tuple(meta.get("columns") or (f"emb_{i:03d}" for i in range(matrix.shape[1])))
        return PatientVectors(
            frame["patient_id"].to_numpy(np.int64), matrix, columns, frame["n_events"].to_numpy(np.int64),
            frame["no_codes"].to_numpy(bool), None, meta.get("params", {}),
        )
    if suffix == ".h5ad":
        adata = _import_anndata().read_h5ad(path)
        return PatientVectors(
            adata.obs_names.astype(np.int64).to_numpy(), np.asarray(adata.X, np.float32), tuple(adata.var_names),
            adata.obs["n_events"].to_numpy(np.int64), adata.obs["no_codes"].to_numpy(bool), None,
            json.loads(adata.uns.get("ehrfeat", "{}")),
        )
    raise InputError(f"cannot read vectors from {path.name!r}", fix="give a .parquet, .npy or .h5ad file", code="E141")
