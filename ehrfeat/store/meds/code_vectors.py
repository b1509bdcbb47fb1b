"""Code vectors as a parquet file MEDS tools join on ``code``; optionally merged into ``codes.parquet``.

Columns: ``code`` (the MEDS code string exactly as in the data), ``text`` (what was
embedded), ``text_source``, ``system`` and ``vector`` (fixed-size list of float32). The
schema metadata key ``ehrfeat`` holds JSON with the encoder ``fingerprint``, ``model``
and ``dim``. One file holds one encoder's vectors. Every write goes to a temporary
file in the same folder, renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ehrfeat.errors import InputError

__all__ = ["META_KEY", "MedsCodeVectors", "read_code_vectors", "update_code_metadata", "write_code_vectors"]

META_KEY = b"ehrfeat"
VECTOR_COLUMN = "ehrfeat_vector"


@dataclass(frozen=True)
class MedsCodeVectors:
    """``matrix[i]`` embeds MEDS code ``codes[i]``, described by ``texts[i]``."""

    fingerprint: str
    codes: tuple[str, ...]
    texts: tuple[str, ...]
    sources: tuple[str, ...]
    systems: tuple[str | None, ...]
    matrix: np.ndarray  # (n, dim) float32
    model: str | None = None

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1]) if self.matrix.ndim == 2 else 0


def _atomic_write(table: Any, path: Path) -> None:
    import pyarrow.parquet as pq

    if not path.parent.is_dir():
        raise InputError(f"folder {path.parent} does not exist", fix=f"mkdir -p {path.parent}", code="E1510")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_code_vectors(path: str | Path, vectors: MedsCodeVectors) -> Path:
    """Write ``vectors`` to ``path`` atomically."""
    import pyarrow as pa

    path = Path(path)
    dim = vectors.dim
    flat = pa.array(np.ascontiguousarray(vectors.matrix, np.float32).reshape(-1), pa.float32())
    vector = pa.FixedSizeListArray.from_arrays(flat, dim)
    meta = {"fingerprint": vectors.fingerprint, "model": vectors.model, "dim": dim,
            "written_at": datetime.now(UTC).isoformat(timespec="seconds")}
    schema = pa.schema(
        [("code", pa.string()), ("text", pa.string()), ("text_source", pa.string()), ("system", pa.string()),
         ("vector", pa.list_(pa.float32(), dim))],
        metadata={META_KEY: json.dumps(meta).encode()},
    )
    table = pa.Table.from_arrays(
        [pa.array(vectors.codes, pa.string()), pa.array(vectors.texts, pa.string()), pa.array(vectors.sources, pa.string()),
         pa.array(vectors.systems, pa.string()), vector],
        schema=schema,
    )
    _atomic_write(table, path)
    return path


def read_code_vectors(path: str | Path) -> MedsCodeVectors:
    """Read a file written by :func:`write_code_vectors`; a clear error for anything else."""
    import pyarrow.parquet as pq

    path = Path(path)
    fix = f"write it with `ehrfeat embed-codes MEDS_DIR --out {path}`"
    if not path.is_file():
        raise InputError(f"code-vector file {path} does not exist", fix=fix, code="E1508")
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise InputError(f"{path} is not a readable parquet file: {exc}", fix=fix, code="E1507") from exc
    raw = (table.schema.metadata or {}).get(META_KEY)
    missing = [c for c in ("code", "text", "vector") if c not in table.column_names]
    if raw is None or missing:
        raise InputError(f"{path} is not an ehrfeat code-vector file (no encoder fingerprint or columns {missing})",
                         fix=fix, code="E1507")
    meta = json.loads(raw)
    dim = int(meta.get("dim") or 0)
    n = table.num_rows
    column = table.column("vector").combine_chunks()
    flat = column.flatten().to_numpy(zero_copy_only=False) if n else np.zeros(0, np.float32)
    matrix = np.asarray(flat, np.float32).reshape(n, dim) if n else np.zeros((0, dim), np.float32)

    def strings(name: str) -> tuple[Any, ...]:
        return tuple(table.column(name).to_pylist()) if name in table.column_names else (None,) * n

    return MedsCodeVectors(str(meta["fingerprint"]), tuple(table.column("code").to_pylist()), strings("text"),
                           strings("text_source"), strings("system"), matrix, meta.get("model"))


def update_code_metadata(codes_path: Path, vectors: MedsCodeVectors, all_codes: Sequence[str]) -> Path:
    """A new ``codes.parquet`` (written atomically over the old one): every code of the data present,
    blank descriptions filled with the embedded text, and an ``ehrfeat_vector`` column; other columns kept."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    old = pq.read_table(codes_path) if codes_path.is_file() else pa.table({"code": pa.array([], pa.string())})
    old_codes = old.column("code").to_pylist()
    known = set(old_codes)
    extra = [c for c in all_codes if c not in known]
    if extra:
        filler = {name: pa.nulls(len(extra), old.schema.field(name).type) for name in old.column_names if name != "code"}
        old = pa.concat_tables([old, pa.table({"code": pa.array(extra, old.schema.field("code").type), **filler},
                                              schema=old.schema)])
    codes = old.column("code").to_pylist()
    position = {c: i for i, c in enumerate(vectors.codes)}
    texts = dict(zip(vectors.codes, vectors.texts, strict=True))
    descriptions = old.column("description").to_pylist() if "description" in old.column_names else [None] * len(codes)
    filled = [d if d is not None and str(d).strip() else texts.get(c) for c, d in zip(codes, descriptions, strict=True)]
    dim = vectors.dim
    rows = [position.get(c, -1) for c in codes]
    flat = np.zeros((len(codes), dim), np.float32)
    have = np.asarray([r >= 0 for r in rows], bool)
    if have.any():
        flat[have] = vectors.matrix[[r for r in rows if r >= 0]]
    vector = pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1), pa.float32()), dim)
    vector = pa.array(vector.to_pylist(), pa.list_(pa.float32(), dim), mask=~have) if not have.all() else vector
    table = old.drop_columns([c for c in ("description", VECTOR_COLUMN) if c in old.column_names])
    table = table.append_column("description", pa.array(filled, pa.string()))
    table = table.append_column(VECTOR_COLUMN, vector)
    meta = dict(old.schema.metadata or {})
    meta[META_KEY] = json.dumps({"fingerprint": vectors.fingerprint, "model": vectors.model, "dim": dim}).encode()
    _atomic_write(table.replace_schema_metadata(meta), codes_path)
    return codes_path
