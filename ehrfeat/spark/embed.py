"""``embed_codes`` on Spark: the distinct codes of the events, their texts, and their vectors on the executors.

Distinct ``(system, code)`` pairs are found with Spark (canonical forms, as on one
machine), with the database's own text (native ``vocabulary``, OMOP
``concept_name``, MEDS ``metadata/codes.parquet``). Only that list of codes comes to
the driver, where :func:`ehrfeat.embed.resolve_texts` adds the built-in
dictionaries' texts. The vectors are computed with ``mapInPandas`` on the
executors by the torch-free :class:`~ehrfeat.onnx.OnnxEncoder`, loaded once per
Python worker from the model folder that :func:`~ehrfeat.spark.session.ship_folder`
sends with the job (``SparkContext.addFile``). The output is a parquet folder with
the columns of the ``code_embeddings`` table, appended to: codes already there for
this encoder's fingerprint are skipped, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ehrfeat.codes import Code, canonical_system
from ehrfeat.embed import resolve_texts
from ehrfeat.embed_report import EmbedReport
from ehrfeat.errors import ModelError
from ehrfeat.spark.code_table import EMBEDDING_SCHEMA
from ehrfeat.spark.events import canonical_events
from ehrfeat.spark.output import check_format, write_frame
from ehrfeat.spark.readers import read_source
from ehrfeat.spark.session import check_session, ship_folder, shipped_folder
from ehrfeat.spark.source import SparkSource
from ehrfeat.spark.targets import EMBEDDING_COLUMNS, SparkTarget, check_spark_target
from ehrfeat.store.records import CodeCount, SkipReason
from ehrfeat.vocab.builtin import description_place

__all__ = ["distinct_codes", "embed_codes"]

logger = logging.getLogger(__name__)

SKIP_LABELS = {  # the ``issue`` of a Spark event row -> the single-machine summary's key (SkipReason.rows)
    "null_patient": SkipReason.NULL_PATIENT.rows,
    "null_code": SkipReason.NULL_CODE.rows,
    "malformed_code": SkipReason.MALFORMED_CODE.rows,
    "unmapped_concept": SkipReason.UNMAPPED.rows,
}
_ENCODERS: dict[tuple[str, str], Any] = {}  # per Python worker: one encoder per (folder, variant)


def distinct_codes(source: SparkSource, systems: Sequence[str] | None = None) -> tuple[list[CodeCount], dict[str, int]]:
    """Every distinct canonical code with its event and patient counts and database text; skipped rows by reason."""
    from pyspark.sql import functions as F

    events = canonical_events(source, systems)
    good = events.where(F.col("issue").isNull())
    grouped = good.groupBy("system", "code").agg(
        F.count(F.lit(1)).alias("n_events"), F.countDistinct("patient_id").alias("n_patients"),
        F.max(F.when(F.length(F.trim(F.col("text"))) > 0, F.trim(F.col("text")))).alias("text"),
        F.first("domain").alias("domain"),
    )
    if source.texts is not None:
        grouped = grouped.join(_vocabulary(source.texts), ["system", "code"], "left").select(
            "system", "code", "n_events", "n_patients", F.coalesce("vocabulary_text", "text").alias("text"), "domain")
    rows = grouped.collect()
    codes = [CodeCount(r["system"], r["code"], int(r["n_events"]), int(r["n_patients"]), r["text"],
                       None, r["domain"] if source.kind == "omop" else None) for r in rows]
    codes.sort(key=lambda c: (c.system, -c.n_events, c.code))
    skipped = {SKIP_LABELS[r["issue"]]: int(r["n"]) for r in events.where(F.col("issue").isNotNull())
               .groupBy("issue").agg(F.count(F.lit(1)).alias("n")).collect()}
    return codes, skipped


def _vocabulary(texts: Any) -> Any:
    """The vocabulary's (canonical system, canonical code) -> first non-blank description (the smallest, to be stable)."""
    from pyspark.sql import functions as F

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        from ehrfeat.store.native import CodeNormalizer

        norm = CodeNormalizer()
        for batch in batches:
            keys = [norm(None if pd.isna(s) else s, None if pd.isna(c) else c)
                    for s, c in zip(batch["code_system"], batch["code"], strict=True)]
            ok = [not isinstance(k, str) for k in keys]
            yield pd.DataFrame({
                "system": [k[0] for k, good in zip(keys, ok, strict=True) if good],
                "code": [k[1] for k, good in zip(keys, ok, strict=True) if good],
                "description": [d for d, good in zip(batch["description"], ok, strict=True) if good],
            })

    normal = texts.mapInPandas(run, "system string, code string, description string")
    text = F.trim(F.col("description"))
    return normal.where(F.length(text) > 0).groupBy("system", "code").agg(F.min(text).alias("vocabulary_text"))


def embed_codes(
    spark: Any,
    source: Any,
    out: str | Path,
    *,
    model: str | Path | None = None,
    variant: str | None = None,
    batch_size: int = 256,
    systems: Sequence[str] | None = None,
    partitions: int | None = None,
    fmt: str = "parquet",
    duplicate_concepts: str = "error",
) -> EmbedReport:
    """Embed the distinct codes of ``source`` into the table ``out`` (created or appended to).

    ``fmt``: ``parquet`` (a folder) or ``delta`` (a Delta table; see :mod:`ehrfeat.spark.output`).
    ``duplicate_concepts``: OMOP concept ids CONCEPT lists twice: ``error``, ``first`` or ``skip``.
    """
    from pyspark.sql import functions as F

    started = time.perf_counter()
    check_session(spark)
    check_format(spark, fmt)
    target = check_spark_target(spark, out, columns=EMBEDDING_COLUMNS, what="code-embedding table", fmt=fmt)
    wanted = [canonical_system(s) for s in systems] if systems else None
    src = read_source(spark, source, duplicate_concepts)
    encoder = _driver_encoder(model, variant)
    fingerprint = encoder.fingerprint
    codes, skipped = distinct_codes(src, wanted)
    cached = _cached_keys(spark, target, fingerprint, fmt)
    new = [c for c in codes if Code(c.system, c.code) not in cached]
    texts, unresolved, examples, text_sources = resolve_texts(new, description_place(src.kind))
    logger.info("%d distinct codes, %d cached, %d new with text", len(codes), len(codes) - len(new), len(texts))
    encode_started = time.perf_counter()
    embedded = 0
    if texts:
        name = ship_folder(spark, encoder.folder)
        rows = [(c.system, c.code, t) for c, t in sorted(texts.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
        todo = spark.createDataFrame(rows, "code_system string, code string, text string")
        n = partitions or max(spark.sparkContext.defaultParallelism, 1)
        threads = int(spark.conf.get("spark.task.cpus", "1"))
        vectors = todo.repartition(n).mapInPandas(
            _encode_partitions(name, encoder.variant.name, fingerprint, batch_size, threads, str(model or "default")),
            EMBEDDING_SCHEMA,
        )
        write_frame(spark, vectors, out, fmt=fmt, mode="append")
        embedded = _read(spark, out, fmt).where(F.col("fingerprint") == fingerprint).count() - len(cached)
    return EmbedReport(
        database=str(source) if isinstance(source, str | Path) else src.kind, target=str(out), fingerprint=fingerprint,
        codes_found=len(codes), embedded_now=embedded, already_cached=len(codes) - len(new), unresolved=unresolved,
        unresolved_examples=examples, skipped={**skipped, **src.handled}, text_sources=dict(text_sources),
        elapsed_s=time.perf_counter() - started, encode_s=time.perf_counter() - encode_started,
    )


def _driver_encoder(model: str | Path | None, variant: str | None) -> Any:
    """The ONNX encoder on the driver (for its fingerprint and folder); torch models cannot travel."""
    from ehrfeat.models.loader import load_encoder
    from ehrfeat.onnx.runtime import OnnxEncoder

    encoder = load_encoder(model, backend="onnx", device="cpu", variant=variant)
    if not isinstance(encoder, OnnxEncoder):
        raise ModelError(f"model {model!r} is not an ONNX export", fix="export it with `ehrfeat export` first", code="E1611")
    return encoder


def _read(spark: Any, out: str | Path, fmt: str) -> Any:
    return spark.read.format("delta").load(str(out)) if fmt == "delta" else spark.read.parquet(str(out))


def _cached_keys(spark: Any, target: SparkTarget, fingerprint: str, fmt: str = "parquet") -> set[Code]:
    from pyspark.sql import functions as F

    if not target.has_rows:
        return set()
    rows = _read(spark, target.path, fmt).where(F.col("fingerprint") == fingerprint).select("code_system", "code").collect()
    return {Code(r["code_system"], r["code"]) for r in rows}


def _encode_partitions(name: str, variant: str, fingerprint: str, batch_size: int, threads: int, model: str) -> Any:
    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import numpy as np
        import pandas as pd

        from ehrfeat.onnx.runtime import OnnxEncoder

        folder = str(shipped_folder(name))
        encoder = _ENCODERS.get((folder, variant))
        if encoder is None:
            encoder = _ENCODERS[(folder, variant)] = OnnxEncoder(folder, variant=variant, device="cpu", threads=threads)
        if encoder.fingerprint != fingerprint:
            raise ModelError(f"the model folder on this executor has fingerprint {encoder.fingerprint}, not {fingerprint}",
                             fix="ship the same model folder to every executor", code="E1612")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for batch in batches:
            if batch.empty:
                continue
            vectors = np.ascontiguousarray(encoder.encode(batch["text"].tolist(), batch_size=batch_size), dtype="<f4")
            if not np.isfinite(vectors).all():
                raise ModelError("the encoder returned non-finite values; nothing was written", code="E1617")
            yield pd.DataFrame({
                "fingerprint": fingerprint, "code_system": batch["code_system"].to_numpy(object),
                "code": batch["code"].to_numpy(object), "text": batch["text"].to_numpy(object),
                "dim": np.full(len(batch), vectors.shape[1], np.int32), "vector": [row.tobytes() for row in vectors],
                "model": model, "created_at": now,
            })

    return run
