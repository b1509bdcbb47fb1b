"""Patient vectors on Spark, with the numbers of :func:`ehrfeat.patients.vectors.patient_vectors`.

The events never reach the driver. On the executors: canonical codes and times
(:mod:`ehrfeat.spark.events`), a join with the cohort and a broadcast join with the
code index, one reason per unused event (the reasons, their order and the no-leakage
rule of :mod:`ehrfeat.patients.weights`: an event counts only when
``time < as_of`` and, with a window, ``time >= as_of - window``), then one
aggregation per ``(patient, block, code, time)`` (duplicates: same patient, code
and time), a sum per ``(patient, block, code)``, and per patient partition the very
:func:`ehrfeat.patients.vectors.combine` of one machine against the broadcast code
matrix. The driver holds only counts, the code matrix and (for ``idf``) the
document frequencies of the codes. Duplicates count once, across all events, as
on one machine (:mod:`ehrfeat.patients.distinct`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ehrfeat.codes import canonical_system
from ehrfeat.patients.as_of_rule import check_rule
from ehrfeat.patients.timing import parse_duration
from ehrfeat.patients.vectors import PatientVectors, VectorReport, embedding_columns
from ehrfeat.patients.weights import WeightOptions, smooth_idf_from_counts
from ehrfeat.spark.code_table import load_code_embeddings
from ehrfeat.spark.cohort import SparkCohort, known_patients, spark_cohort
from ehrfeat.spark.event_counts import aggregate_events, summarize_events
from ehrfeat.spark.events import canonical_events
from ehrfeat.spark.output import write_frame
from ehrfeat.spark.readers import read_source
from ehrfeat.spark.session import check_session
from ehrfeat.spark.targets import check_vectors_target

__all__ = ["SparkPatientVectors", "patient_vectors"]

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class SparkPatientVectors:
    """``frame``: ``patient_id, n_events, no_codes`` and the vector columns, one row per cohort patient (lazy)."""

    frame: Any
    columns: tuple[str, ...]
    report: VectorReport
    params: dict[str, Any] = field(default_factory=dict)
    cached: Any = None  # the persisted aggregate the frame reads from

    def collect(self) -> PatientVectors:
        """The vectors on the driver (patients x dim: for results that fit in the driver's memory)."""
        local = self.frame.toPandas()
        matrix = local[list(self.columns)].to_numpy(np.float32) if self.columns else np.zeros((len(local), 0), np.float32)
        return PatientVectors(
            local["patient_id"].to_numpy(np.int64), np.ascontiguousarray(matrix), self.columns,
            local["n_events"].to_numpy(np.int64), local["no_codes"].to_numpy(bool), self.report, dict(self.params),
        )

    def write(self, path: str | Path, *, mode: str = "overwrite", fmt: str = "parquet", single_file: bool = False) -> str:
        """Write the frame (the columns of the one-machine parquet file); returns the path.

        A parquet folder by default; ``single_file``: one parquet file, written atomically;
        ``fmt="delta"``: a Delta table (see :mod:`ehrfeat.spark.output`).
        """
        spark = self.frame.sparkSession
        check_vectors_target(spark, path, fmt=fmt)
        return write_frame(spark, self.frame, path, fmt=fmt, mode=mode, single_file=single_file)

    def release(self) -> None:
        """Free the aggregate kept for :attr:`frame` (after writing or collecting)."""
        if self.cached is not None:
            self.cached.unpersist()


def patient_vectors(
    spark: Any,
    source: Any,
    embeddings: Any,
    *,
    fingerprint: str | None = None,
    as_of: Any = None,
    as_of_table: Any = None,
    as_of_column: str | None = None,
    window: str | float | None = None,
    weighting: str = "mean",
    half_life: str | float | None = "180d",
    systems: Sequence[str] | None = None,
    by_system: bool = False,
    as_of_rule: str = "strict",
    partitions: int | None = None,
    now_s: int | None = None,
    duplicate_concepts: str = "error",
) -> SparkPatientVectors:
    """Vectors of every cohort patient of ``source`` (see :func:`ehrfeat.spark.readers.read_source`).

    ``embeddings``: the code-embedding table (parquet path, Spark table, DataFrame, SQL
    database, or a :class:`~ehrfeat.store.embeddings.CodeEmbeddings`). ``as_of_table``:
    a DataFrame, Spark table or parquet path of ``(patient_id, as_of)`` rows. ``as_of_rule``:
    ``strict`` (events before the as-of) or ``inclusive`` (at or before), as in
    :mod:`ehrfeat.patients.as_of_rule`. ``duplicate_concepts``: OMOP concept ids CONCEPT lists
    twice: ``error``, ``first`` or ``skip`` (see :func:`ehrfeat.spark.readers.read_omop`).
    """
    from pyspark.sql import functions as F

    started = time.perf_counter()
    check_session(spark)
    wanted = [canonical_system(s) for s in systems] if systems else None
    window_s = parse_duration(window, "window")
    if check_rule(as_of_rule) == "inclusive" and window_s is not None:
        window_s += 1  # the as-of moves 1 s later; the window's start stays (as VectorSettings.options does)
    options = WeightOptions(
        weighting=weighting, window_s=window_s,
        half_life_s=parse_duration(half_life, "half-life") if weighting == "time-decay" else None, by_system=by_system,
    )
    src = read_source(spark, source, duplicate_concepts)
    emb = load_code_embeddings(spark, embeddings, fingerprint=fingerprint, systems=wanted)
    now_s = int(datetime.now(UTC).replace(tzinfo=None).timestamp()) if now_s is None else int(now_s)
    events = canonical_events(src, wanted)
    cohort = spark_cohort(spark, known_patients(src, events), as_of=as_of, as_of_table=as_of_table,
                          as_of_column=as_of_column, now_s=now_s)
    if as_of_rule == "inclusive" and cohort.explicit:
        shifted = cohort.frame.select("patient_id", (F.col("as_of_s") + 1).alias("as_of_s"))
        cohort = SparkCohort(shifted, cohort.now_s, cohort.explicit, cohort.issues)
    codes = spark.createDataFrame([(c.system, c.code, i) for i, c in enumerate(emb.codes)], "system string, code string, col int")
    aggregate = aggregate_events(events, cohort, codes, options, now_s).persist()
    summary = summarize_events(aggregate)
    kept = aggregate.where(F.col("issue").isNull() & F.col("reason").isNull())
    blocks = tuple(sorted(summary.blocks)) if by_system else ("all",)
    pairs = _pairs(kept, options)
    n_patients = cohort.frame.count()
    idf = None
    if weighting == "idf":
        index = {b: i for i, b in enumerate(blocks)}
        df = np.zeros(len(blocks) * len(emb.codes), np.int64)
        for row in pairs.where(F.col("w") > 0).groupBy("block", "col").agg(F.count(F.lit(1)).alias("n")).collect():
            df[index[row["block"]] * len(emb.codes) + row["col"]] = row["n"]
        idf = smooth_idf_from_counts(df, n_patients)
    columns = embedding_columns(blocks, emb.dim, by_system)
    vectors = _combine(spark, pairs, emb.matrix, blocks, len(emb.codes), weighting, idf, columns, partitions)
    frame = _complete(cohort.frame, vectors, columns)
    with_codes = kept.select("pid").distinct().count()
    report = VectorReport(
        patients=n_patients, patients_without_codes=n_patients - with_codes, events_read=summary.events_read,
        events_used=summary.events_used, skipped=summary.skipped, read_issues={**summary.read_issues, **src.handled},
        as_of_issues=cohort.issues, elapsed_s=time.perf_counter() - started,
    )
    params = {
        "engine": "spark", "database": str(source) if isinstance(source, str | Path) else None,
        "fingerprint": emb.fingerprint, "as_of": None if as_of is None else str(as_of),
        "as_of_table": as_of_table if isinstance(as_of_table, str) else None, "as_of_column": as_of_column,
        "window": None if window is None else str(window), "weighting": weighting,
        "half_life": str(half_life) if weighting == "time-decay" else None, "systems": wanted,
        "by_system": by_system, "as_of_rule": as_of_rule, "blocks": list(blocks),
    }
    return SparkPatientVectors(frame, columns, report, params, aggregate)


def _pairs(kept: Any, options: WeightOptions) -> Any:
    """Summed weight ``w`` and events used ``used`` per (patient, block, code)."""
    from pyspark.sql import functions as F

    timed = F.col("t").isNotNull()
    if options.weighting == "time-decay":
        decay = F.pow(F.lit(2.0), -(F.col("as_of") - F.col("t")).cast("double") / F.lit(float(options.half_life_s or 1)))
    else:
        decay = F.lit(1.0)
    weight = F.when(timed, decay).otherwise(F.col("n").cast("double"))
    used = F.when(timed, F.lit(1)).otherwise(F.col("n"))
    return kept.groupBy("pid", "block", "col").agg(F.sum(weight).alias("w"), F.sum(used).alias("used"))


def _combine(spark: Any, pairs: Any, code_matrix: np.ndarray, blocks: tuple[str, ...], n_codes: int, weighting: str,
             idf: np.ndarray | None, columns: tuple[str, ...], partitions: int | None) -> Any:
    """Per partition of patients: :func:`ehrfeat.patients.vectors.combine` against the broadcast code matrix."""
    from pyspark.sql.types import FloatType, LongType, StructField, StructType

    shared = spark.sparkContext.broadcast((np.ascontiguousarray(code_matrix, np.float32), idf))
    index = {b: i for i, b in enumerate(blocks)}
    schema = StructType([StructField("patient_id", LongType()), StructField("n_events", LongType()),
                         *(StructField(c, FloatType()) for c in columns)])

    def one(frame: Any) -> Any:
        import pandas as pd
        import scipy.sparse as sp

        from ehrfeat.patients.vectors import combine
        from ehrfeat.patients.weights import Weights

        matrix, idf_ = shared.value
        ids, rows = np.unique(frame["pid"].to_numpy(np.int64), return_inverse=True)
        cols = frame["block"].map(index).to_numpy(np.int64) * n_codes + frame["col"].to_numpy(np.int64)
        w = sp.csr_matrix((frame["w"].to_numpy(np.float64), (rows, cols)), shape=(len(ids), len(blocks) * n_codes))
        n_events = np.bincount(rows, weights=frame["used"].to_numpy(np.float64), minlength=len(ids)).astype(np.int64)
        out = combine(Weights(w, blocks, n_codes, n_events, {}, 0), matrix, weighting, idf_)
        result = pd.DataFrame(out, columns=list(columns))
        result.insert(0, "n_events", n_events)
        result.insert(0, "patient_id", ids)
        return result

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        carry = None
        for batch in batches:
            frame = batch if carry is None else pd.concat([carry, batch], ignore_index=True)
            last = frame["pid"].iloc[-1] if len(frame) else None
            done = frame["pid"] != last
            carry = frame[~done]
            if done.any():
                yield one(frame[done])
        if carry is not None and len(carry):
            yield one(carry)

    n = partitions or max(int(spark.conf.get("spark.sql.shuffle.partitions")), 1)
    ordered = pairs.repartition(n, "pid").sortWithinPartitions("pid")
    return ordered.select("pid", "block", "col", "w", "used").mapInPandas(run, schema)


def _complete(cohort: Any, vectors: Any, columns: tuple[str, ...]) -> Any:
    """Every cohort patient, sorted: zero rows and ``no_codes`` for those without a usable event."""
    from pyspark.sql import functions as F

    joined = cohort.select("patient_id").join(vectors, "patient_id", "left")
    n_events = F.coalesce(F.col("n_events"), F.lit(0)).cast("long")
    return joined.select(
        "patient_id", n_events.alias("n_events"), (n_events == 0).alias("no_codes"),
        *(F.coalesce(F.col(f"`{c}`"), F.lit(0.0)).cast("float").alias(c) for c in columns),
    ).orderBy("patient_id")
