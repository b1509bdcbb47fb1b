"""A MEDS dataset on disk: detection, checks, and lazy shard-by-shard reading (pyarrow, never all at once).

Layout (the ``meds`` package's schema, v0.3 and later)::

    MEDS_DIR/data/**/*.parquet            subject_id int64, time timestamp, code string,
                                          numeric_value float (optional), text_value string (optional)
    MEDS_DIR/metadata/codes.parquet       code, description, parent_codes   (optional)
    MEDS_DIR/metadata/subject_splits.parquet, metadata/dataset.json         (optional)

Files under ``data/`` that are not ``.parquet`` are skipped and counted; a ``.parquet``
file that is not parquet, or columns of the wrong type, stop the run (exit 2) naming
the file and the fix. Rows with a null subject or code are skipped and counted;
rows with a null time are static (MEDS: true at every time); rows out of time order
within a subject are read and counted (nothing here needs the order).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ehrfeat.errors import InputError, SchemaError
from ehrfeat.report import reason_lines
from ehrfeat.store.meds.columns import NAT, check_shard_schema, time_us
from ehrfeat.store.records import SkipCollector

if TYPE_CHECKING:
    from ehrfeat.store.backends import PatientStore

__all__ = [
    "DATA_DIR",
    "EMBEDDINGS_FILE",
    "MedsBatch",
    "MedsDataset",
    "MedsReadReport",
    "looks_like_meds",
    "open_meds",
]

logger = logging.getLogger(__name__)

DATA_DIR = "data"
CODES_FILE = "metadata/codes.parquet"
SPLITS_FILE = "metadata/subject_splits.parquet"
DATASET_FILE = "metadata/dataset.json"
EMBEDDINGS_FILE = "metadata/ehrfeat_code_embeddings.parquet"

NULL_SUBJECT = "null subject_id (rows skipped)"
NULL_CODE = "null or blank code (rows skipped)"
STATIC = "null time: static rows, used at every prediction time"
OUT_OF_ORDER = "time earlier than the row before, same subject (read anyway; MEDS wants rows sorted by time)"
NOT_CONTIGUOUS = "subject's rows not contiguous in its shard (read anyway)"
NOT_PARQUET = "files under data/ that are not .parquet (skipped)"


def looks_like_meds(path: str | Path) -> bool:
    """Whether ``path`` is a folder meant as MEDS: it has ``data/`` or ``metadata/``."""
    p = Path(path)
    return p.is_dir() and ((p / DATA_DIR).exists() or (p / "metadata").is_dir())


@dataclass
class MedsReadReport:
    """Counts of one pass over the shards: rows read and skipped by reason, with examples (files, codes)."""

    shards: int = 0
    rows_read: int = 0
    skips: SkipCollector = field(default_factory=SkipCollector)

    def counts(self) -> dict[str, int]:
        return dict(self.skips.counts)

    def lines(self) -> list[str]:
        return reason_lines(self.skips.counts, self.skips.examples, width=9)


@dataclass(frozen=True)
class MedsBatch:
    """Rows of one shard batch with usable subject and code: ``code_index`` points into ``codes``."""

    subject_id: np.ndarray  # int64
    time_us: np.ndarray  # int64 microseconds since 1970, NAT for static rows
    code_index: np.ndarray  # int64
    codes: np.ndarray  # object: the batch's distinct code strings
    numeric_value: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.subject_id.shape[0])


@dataclass(frozen=True)
class MedsDataset:
    """A checked MEDS folder: its shards (sorted) and metadata."""

    root: Path
    shards: tuple[Path, ...]
    skipped_files: tuple[Path, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def codes_path(self) -> Path:
        return self.root / CODES_FILE

    @property
    def splits_path(self) -> Path:
        return self.root / SPLITS_FILE

    @property
    def embeddings_path(self) -> Path:
        return self.root / EMBEDDINGS_FILE

    def iter_batches(self, report: MedsReadReport | None = None, batch_size: int = 262_144,
                     values: bool = False) -> Iterator[MedsBatch]:
        """Every shard in turn, in batches of at most ``batch_size`` rows; skipped rows are counted in ``report``."""
        report = report if report is not None else MedsReadReport()
        for path in self.skipped_files:
            report.skips.add(NOT_PARQUET, 1, path.relative_to(self.root))
        for shard in self.shards:
            report.shards += 1
            yield from _shard_batches(self.root, shard, report, batch_size, values)

    def patient_ids(self) -> np.ndarray:
        """Every subject with a row in the data (sorted int64): the :class:`~ehrfeat.store.backends.PatientStore` name."""
        return self.subject_ids()

    def subject_ids(self) -> np.ndarray:
        """Every subject with a row in the data (sorted), reading only the subject_id column."""
        import pyarrow.parquet as pq

        found = [np.zeros(0, np.int64)]
        for shard in self.shards:
            for batch in pq.ParquetFile(shard).iter_batches(batch_size=1_048_576, columns=["subject_id"]):
                column = batch.column(0).drop_null()
                found.append(np.unique(np.asarray(column.to_numpy(zero_copy_only=False), np.int64)))
        return np.unique(np.concatenate(found))

    def descriptions(self) -> dict[str, str]:
        """``code -> description`` from ``metadata/codes.parquet`` (non-blank descriptions only)."""
        table = self.code_metadata(["code", "description"])
        if table is None or "description" not in table.column_names:
            return {}
        out: dict[str, str] = {}
        for code, text in zip(table.column("code").to_pylist(), table.column("description").to_pylist(), strict=True):
            if code is not None and text is not None and str(text).strip() and code not in out:
                out[code] = str(text).strip()
        return out

    def code_metadata(self, columns: Sequence[str] | None = None) -> Any:
        """``metadata/codes.parquet`` as a pyarrow table (``None`` when absent)."""
        import pyarrow.parquet as pq

        path = self.codes_path
        if not path.is_file():
            return None
        try:
            schema = pq.read_schema(path)
            wanted = [c for c in columns if c in schema.names] if columns else None
            table = pq.read_table(path, columns=wanted)
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise SchemaError(f"{path} is not a readable parquet file: {exc}",
                              fix="rewrite it with the MEDS code metadata schema (code, description, parent_codes)",
                              code="E1503") from exc
        if "code" not in table.column_names:
            raise SchemaError(f"{path} has no column 'code' (it has: {', '.join(table.column_names)})",
                              fix="the MEDS code metadata schema is code, description, parent_codes", code="E1504")
        return table


def open_meds(root: str | Path) -> MedsDataset:
    """Check a MEDS folder (``data/`` with parquet shards of the right column types) and list its shards."""
    import pyarrow.parquet as pq

    base = Path(root).expanduser()
    if not base.is_dir():
        raise InputError(f"MEDS folder {base} does not exist", fix="give the root of a MEDS dataset (it holds data/)", code="E1513")
    data = base / DATA_DIR
    if not data.is_dir():
        raise SchemaError(
            f"{base} is not a MEDS dataset: it has no {DATA_DIR}/ folder",
            fix="give the MEDS root, the folder holding data/ (shards *.parquet) and metadata/", code="E1502",
        )
    files = sorted(p for p in data.rglob("*") if p.is_file() and not p.name.startswith("."))
    shards = tuple(p for p in files if p.suffix == ".parquet")
    skipped = tuple(p for p in files if p.suffix != ".parquet")
    if not shards:
        raise SchemaError(f"{data} holds no .parquet shards" + (f" ({len(skipped)} other files)" if skipped else ""),
                          fix="write the MEDS data shards as data/*.parquet", code="E1502")
    for shard in shards:
        try:
            schema = pq.read_schema(shard)
        except Exception as exc:
            raise SchemaError(f"MEDS shard {shard} is not a parquet file: {exc}",
                              fix="remove it from data/ or rewrite it as parquet", code="E1503") from exc
        check_shard_schema(shard, schema)
    if skipped:
        logger.warning("%d files under %s are not .parquet and are skipped", len(skipped), data)
    meta: dict[str, Any] = {}
    if (base / DATASET_FILE).is_file():
        try:
            meta = json.loads((base / DATASET_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            logger.warning("cannot read %s (%s); continuing without it", base / DATASET_FILE, exc)
    return MedsDataset(base, shards, skipped, meta if isinstance(meta, dict) else {})


def _shard_batches(root: Path, shard: Path, report: MedsReadReport, batch_size: int, values: bool) -> Iterator[MedsBatch]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = str(shard.relative_to(root))
    columns = ["subject_id", "time", "code"]
    try:
        parquet = pq.ParquetFile(shard, read_dictionary=["code"])
        has_values = "numeric_value" in parquet.schema_arrow.names
        if values and has_values:
            columns.append("numeric_value")
        last_subject, last_time = None, NAT
        seen: set[int] = set()
        for batch in parquet.iter_batches(batch_size=batch_size, columns=columns):
            n = batch.num_rows
            report.rows_read += n
            subject = batch.column(0)
            code = batch.column(2)
            if not pa.types.is_dictionary(code.type):
                code = code.dictionary_encode()
            ok = np.ones(n, bool)
            if subject.null_count:
                bad = subject.is_null().to_numpy(zero_copy_only=False)
                report.skips.add(NULL_SUBJECT, int(bad.sum()), name)
                ok &= ~bad
            codes = np.asarray(code.dictionary.to_pylist(), dtype=object)
            index = np.asarray(code.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)
            blank = np.array([c is None or not str(c).strip() for c in codes.tolist()], dtype=bool)
            bad = (index < 0) | (blank[np.maximum(index, 0)] if len(blank) else True)
            if bad[ok].any():
                report.skips.add(NULL_CODE, int((bad & ok).sum()), name)
                ok &= ~bad
            sid = np.asarray(subject.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
            t = time_us(batch.column(1))
            static = t == NAT
            if static[ok].any():
                report.skips.add(STATIC, int((static & ok).sum()))
            last_subject, last_time = _check_order(sid[ok], t[ok], last_subject, last_time, seen, report, name)
            value = None
            if values and has_values:
                value = np.asarray(batch.column(3).cast(pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False))[ok]
            yield MedsBatch(sid[ok], t[ok], index[ok], codes, value)
    except (OSError, pa.ArrowException) as exc:
        raise SchemaError(f"cannot read MEDS shard {shard}: {exc}", fix="rewrite the shard as parquet with the MEDS data schema",
                          code="E1503") from exc


def _check_order(sid: np.ndarray, t: np.ndarray, last_subject: int | None, last_time: int,
                 seen: set[int], report: MedsReadReport, name: str) -> tuple[int | None, int]:
    """Count rows out of time order within a subject, and subjects whose rows are split in the shard."""
    if len(sid) == 0:
        return last_subject, last_time
    prev_s = np.concatenate(([last_subject if last_subject is not None else sid[0] - 1], sid[:-1]))
    prev_t = np.concatenate(([last_time], t[:-1]))
    same = sid == prev_s
    earlier = same & (t != NAT) & (prev_t != NAT) & (t < prev_t)
    if earlier.any():
        report.skips.add(OUT_OF_ORDER, int(earlier.sum()), name)
    starts = sid[~same]
    if len(starts):
        again = [int(s) for s in starts.tolist() if s in seen]
        if again:
            report.skips.add(NOT_CONTIGUOUS, len(again), name)
        seen.update(starts.tolist())
    # the time carried to the next batch: the last non-null time of the last subject
    tail_t = t[sid == sid[-1]]
    tail = tail_t[tail_t != NAT]
    carry = int(tail[-1]) if len(tail) else (last_time if last_subject == sid[-1] else NAT)
    return int(sid[-1]), carry


if TYPE_CHECKING:  # mypy checks that a MEDS folder is a patient store

    def _is_a_patient_store(dataset: MedsDataset) -> PatientStore[MedsReadReport, MedsBatch]:
        return dataset
