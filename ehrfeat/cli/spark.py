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


def embed_codes_on_spark(
    db: str, *, model: str | None, batch_size: int, systems: Sequence[str] | None, out: str | None, master: str
) -> None:
    """``ehrfeat embed-codes DB --engine spark``: writes (appends to) a parquet code_embeddings folder."""
    from ehrfeat.spark.embed import embed_codes
    from ehrfeat.spark.session import spark_session

    with reported_errors():
        spark = spark_session(master)
        report = embed_codes(spark, db, out or _default_embeddings(db), model=model, batch_size=batch_size, systems=systems)
    typer.echo("\n".join(report.lines()))


def patient_vectors_on_spark(db: str, *, out: str, embeddings: str | None, master: str, fingerprint: str | None,
                             model: str | None = None, **options: Any) -> None:
    """``ehrfeat patient-vectors DB --engine spark``: writes a parquet folder of patient vectors."""
    from ehrfeat.spark.session import spark_session
    from ehrfeat.spark.vectors import patient_vectors

    with reported_errors():
        if fingerprint is None and model is not None:
            from ehrfeat.models.loader import load_encoder

            fingerprint = load_encoder(model).fingerprint
        spark = spark_session(master)
        vectors = patient_vectors(spark, db, embeddings or _default_embeddings(db), fingerprint=fingerprint, **options)
        written = vectors.write(out)
        vectors.release()
    typer.echo("\n".join([*vectors.report.lines(), f"written:                {written} (parquet folder)"]))
