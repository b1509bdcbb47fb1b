"""``--engine spark`` of ``embed-codes`` and ``patient-vectors``: the same jobs on a Spark session."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer

from ehrfeat.cli.errors import reported_errors

__all__ = ["embed_codes_on_spark", "patient_vectors_on_spark"]


def _default_embeddings(db: str) -> str:
    return str(Path(db) / "code_embeddings.parquet") if Path(db).is_dir() else "code_embeddings.parquet"


def _session(master: str, fmt: str, single_file: bool = False) -> Any:
    """A session able to write ``fmt`` (checked before any work: a clear exit 2 otherwise)."""
    from ehrfeat.spark.output import FORMATS, check_format
    from ehrfeat.spark.session import spark_session

    if fmt not in FORMATS or (fmt == "delta" and single_file):
        check_format(None, fmt, single_file=single_file)  # raises: no need to start Spark for that
    spark = spark_session(master, delta=fmt == "delta")
    check_format(spark, fmt, single_file=single_file)
    return spark


def embed_codes_on_spark(
    db: str, *, model: str | None, batch_size: int, systems: Sequence[str] | None, out: str | None, master: str,
    fmt: str = "parquet", duplicate_concepts: str = "error",
) -> None:
    """``ehrfeat embed-codes DB --engine spark``: writes (appends to) a parquet (or Delta) code_embeddings table."""
    from ehrfeat.spark.embed import embed_codes

    with reported_errors():
        spark = _session(master, fmt)
        report = embed_codes(spark, db, out or _default_embeddings(db), model=model, batch_size=batch_size, systems=systems,
                             fmt=fmt, duplicate_concepts=duplicate_concepts)
    typer.echo("\n".join(report.lines()))


def patient_vectors_on_spark(db: str, *, out: str, embeddings: str | None, master: str, fingerprint: str | None,
                             model: str | None = None, fmt: str = "parquet", single_file: bool = False,
                             **options: Any) -> None:
    """``ehrfeat patient-vectors DB --engine spark``: writes a parquet folder (one file, a Delta table) of patient vectors."""
    from ehrfeat.spark.targets import check_vectors_target
    from ehrfeat.spark.vectors import patient_vectors

    with reported_errors():
        if fingerprint is None and model is not None:
            from ehrfeat.models.loader import load_encoder

            fingerprint = load_encoder(model).fingerprint
        spark = _session(master, fmt, single_file)
        check_vectors_target(spark, out, fmt=fmt)  # before the work: the write checks again
        vectors = patient_vectors(spark, db, embeddings or _default_embeddings(db), fingerprint=fingerprint, **options)
        written = vectors.write(out, fmt=fmt, single_file=single_file)
        vectors.release()
    kind = "Delta table" if fmt == "delta" else "parquet file" if single_file else "parquet folder"
    typer.echo("\n".join([*vectors.report.lines(), f"written:                {written} ({kind})"]))
