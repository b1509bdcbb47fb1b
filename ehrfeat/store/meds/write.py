"""Write events as a MEDS dataset (the ``meds`` package's schemas): shards, codes.parquet, splits, dataset.json.

:func:`native_to_meds` turns a native (or OMOP) patient database into MEDS with its
codes written in one of two ETL styles, or both (alternate shards):

* ``mimic`` (MIMIC-IV MEDS): ``DIAGNOSIS//ICD//10//E119``, ``DIAGNOSIS//ICD//9//25000``,
  ``MEDICATION//START//metformin``, ``LAB//4548-4//UNK``, ``HPO//HP:0005978``, ``LOCAL//FLU-CLINIC``;
* ``meds_etl`` (meds_etl's OMOP output, EHRSHOT): ``ICD10CM/E11.9``, ``RxNorm/6809``, ``LOINC/4548-4``.

Events without a time are left out (MEDS reads a null time as a static fact) and counted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ehrfeat.codes import HPO, ICD9CM, ICD9PROC, ICD10CM, ICD10PCS, LOINC, RXNORM
from ehrfeat.errors import InputError

__all__ = ["STYLES", "MedsWriteSummary", "meds_code", "native_to_meds", "write_label_table", "write_meds_dataset"]

STYLES = ("mimic", "meds_etl", "mixed")


@dataclass(frozen=True)
class MedsWriteSummary:
    root: str
    subjects: int
    events: int
    shards: int
    codes: int
    left_out: dict[str, int]

    def line(self) -> str:
        gone = ", ".join(f"{n} {why}" for why, n in self.left_out.items() if n)
        return (f"{self.root}: MEDS dataset, {self.subjects} subjects, {self.events} events in {self.shards} shards, "
                f"{self.codes} distinct codes" + (f" ({gone})" if gone else ""))


def meds_code(system: str, code: str, style: str, drug_names: Mapping[str, str] | None = None) -> str:
    """The MEDS code string of a canonical ``(system, code)`` in ``style`` (``mimic`` or ``meds_etl``)."""
    if style == "meds_etl":
        return f"{system}/{code}"
    compact = code.replace(".", "")
    if system == ICD10CM:
        return f"DIAGNOSIS//ICD//10//{compact}"
    if system == ICD9CM:
        return f"DIAGNOSIS//ICD//9//{compact}"
    if system == ICD9PROC:
        return f"PROCEDURE//ICD//9//{compact}"
    if system == ICD10PCS:
        return f"PROCEDURE//ICD//10//{compact}"
    if system == RXNORM and drug_names and code in drug_names:
        return f"MEDICATION//START//{drug_names[code]}"
    if system == LOINC:
        return f"LAB//{code}//UNK"
    if system == HPO:
        return f"HPO//{code}"
    return f"{system}//{code}"


def write_meds_dataset(
    root: str | Path, subject_id: np.ndarray, time: np.ndarray, code: np.ndarray, numeric_value: np.ndarray | None = None,
    *, descriptions: Mapping[str, str] | None = None, n_shards: int = 2, dataset_name: str = "ehrfeat", shard_of: Any = None,
) -> MedsWriteSummary:
    """Write events (parallel arrays; ``time`` datetime64, NaT for static rows) as a MEDS dataset under ``root``.

    Subjects go to shards by ``subject_id % n_shards`` (or ``shard_of(subject_id)``); each shard is sorted by subject, then time.
    """
    import meds
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(root)
    (out / meds.data_subdirectory).mkdir(parents=True, exist_ok=True)
    (out / "metadata").mkdir(parents=True, exist_ok=True)
    sid = np.asarray(subject_id, np.int64)
    t = np.asarray(time).astype("datetime64[us]")
    codes = np.asarray(code, dtype=object)
    values = np.asarray(numeric_value, np.float64) if numeric_value is not None else np.full(len(sid), np.nan)
    shard = np.asarray(shard_of(sid), np.int64) if shard_of is not None else sid % max(n_shards, 1)
    schema = meds.DataSchema.schema()
    written = 0
    for k in range(max(n_shards, 1)):
        idx = np.flatnonzero(shard == k)
        if len(idx) == 0:
            continue
        t_key = t[idx].astype(np.int64)  # NaT (static rows) sorts first, as MEDS wants
        order = idx[np.lexsort((t_key, sid[idx]))]
        table = pa.table({
            "subject_id": pa.array(sid[order], pa.int64()),
            "time": pa.array(t[order], pa.timestamp("us")),
            "code": pa.array(codes[order].tolist(), pa.string()),
            "numeric_value": pa.array(values[order], pa.float32(), mask=np.isnan(values[order])),
            "text_value": pa.nulls(len(order), pa.large_string()),
        }, schema=schema)
        pq.write_table(table, out / meds.data_subdirectory / f"{k}.parquet")
        written += 1
    distinct = sorted(set(codes.tolist()))
    described = descriptions or {}
    code_schema = meds.CodeMetadataSchema.schema()
    pq.write_table(pa.table({
        "code": pa.array(distinct, pa.string()),
        "description": pa.array([described.get(c) for c in distinct], pa.string()),
        "parent_codes": pa.nulls(len(distinct), pa.list_(pa.string())),
    }, schema=code_schema), out / meds.code_metadata_filepath)
    subjects = np.unique(sid)
    split = np.where(subjects % 10 < 8, meds.train_split, np.where(subjects % 10 == 8, meds.tuning_split, meds.held_out_split))
    pq.write_table(pa.table({"subject_id": pa.array(subjects, pa.int64()), "split": pa.array(split.tolist(), pa.string())},
                            schema=meds.SubjectSplitSchema.schema()), out / meds.subject_splits_filepath)
    meta = {"dataset_name": dataset_name, "etl_name": "ehrfeat.store.meds.write", "meds_version": meds.__version__,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds")}
    (out / meds.dataset_metadata_filepath).write_text(json.dumps(meta, indent=1))
    return MedsWriteSummary(str(out), len(subjects), len(sid), written, len(distinct), {})


def native_to_meds(database: Any, root: str | Path, *, style: str = "mixed", n_shards: int = 2,
                   birth: bool = True) -> MedsWriteSummary:
    """The events of a patient database (native or OMOP) as a MEDS dataset in ``style`` (see the module doc)."""
    import sqlalchemy as sa

    from ehrfeat.store.database import open_database
    from ehrfeat.store.events import iter_events
    from ehrfeat.store.schema import detect_schema

    if style not in STYLES:
        raise InputError(f"unknown MEDS code style {style!r}", fix=f"use one of {', '.join(STYLES)}", code="E1511")
    engine = database if hasattr(database, "dialect") else open_database(database)
    schema = detect_schema(engine)
    vocabulary: dict[tuple[str, str], str] = {}
    if "vocabulary" in schema.tables:
        from ehrfeat.store.native import code_texts

        with engine.connect() as conn:
            pairs = conn.execute(sa.text(f'SELECT code_system, code FROM "{schema.tables["vocabulary"]}"')).all()
        from ehrfeat.codes import Code

        keys = set()
        for s, c in pairs:
            try:
                ref = Code.parse(str(s), c)
            except Exception:
                continue
            keys.add((ref.system, ref.code))
        vocabulary = code_texts(engine, schema, keys)
    drug_names = {c: text for (s, c), text in vocabulary.items() if s == RXNORM}
    parts: dict[str, list[np.ndarray]] = {"sid": [], "time": [], "code": [], "value": []}
    no_time = 0
    for chunk in iter_events(engine, schema):
        timed = ~np.isnat(chunk.time)
        no_time += int((~timed).sum())
        sid = chunk.patient_id[timed]
        shard = sid % max(n_shards, 1)
        styles = np.where(shard % 2 == 1, "meds_etl", "mimic") if style == "mixed" else np.full(len(sid), style)
        strings = [meds_code(s, c, st, drug_names)
                   for s, c, st in zip(chunk.system[timed].tolist(), chunk.code[timed].tolist(), styles.tolist(), strict=True)]
        parts["sid"].append(sid)
        parts["time"].append(chunk.time[timed])
        parts["code"].append(np.asarray(strings, dtype=object))
        parts["value"].append(chunk.value[timed])
    sid = np.concatenate(parts["sid"]) if parts["sid"] else np.zeros(0, np.int64)
    times = np.concatenate(parts["time"]) if parts["time"] else np.zeros(0, "datetime64[s]")
    codes = np.concatenate(parts["code"]) if parts["code"] else np.zeros(0, object)
    values = np.concatenate(parts["value"]) if parts["value"] else np.zeros(0)
    if birth and "patients" in schema.tables:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(f'SELECT patient_id, birth_date FROM "{schema.tables["patients"]}" '
                                        "WHERE birth_date IS NOT NULL")).all()
        if rows:
            sid = np.concatenate([sid, np.asarray([r[0] for r in rows], np.int64)])
            times = np.concatenate([times.astype("datetime64[s]"), np.asarray([r[1] for r in rows], "datetime64[s]")])
            codes = np.concatenate([codes, np.full(len(rows), "MEDS_BIRTH", dtype=object)])
            values = np.concatenate([values, np.full(len(rows), np.nan)])
    descriptions: dict[str, str] = {}
    for (system, code), text in vocabulary.items():
        for st in (("mimic", "meds_etl") if style == "mixed" else (style,)):
            descriptions[meds_code(system, code, st, drug_names if system != RXNORM else None)] = text
    summary = write_meds_dataset(root, sid, times, codes, values, descriptions=descriptions, n_shards=n_shards,
                                 dataset_name="ehrfeat demo")
    return MedsWriteSummary(summary.root, summary.subjects, summary.events, summary.shards, summary.codes,
                            {"events without a time left out": no_time})


def write_label_table(path: str | Path, subject_id: Any, prediction_time: Any, **labels: Any) -> Path:
    """A MEDS label table (``meds.LabelSchema``): subject_id, prediction_time and label columns (boolean_value, ...)."""
    import meds
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = meds.LabelSchema.schema()
    columns = {"subject_id": pa.array(np.asarray(subject_id, np.int64), pa.int64()),
               "prediction_time": pa.array(np.asarray(prediction_time).astype("datetime64[us]"), pa.timestamp("us"))}
    for name, values in labels.items():
        columns[name] = pa.array(values, schema.field(name).type)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns, schema=pa.schema([schema.field(n) for n in columns])), out)
    return out
