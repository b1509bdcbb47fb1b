"""``ehrfeat patient-vectors DB --out vectors.parquet``: one vector per patient."""

from __future__ import annotations

from typing import Annotated

import typer

from ehrfeat.cli.errors import reported_errors

__all__ = ["register"]


def patient_vectors_command(
    db: Annotated[str, typer.Argument(help="Patient database with cached code embeddings (path or URL).")],
    out: Annotated[str, typer.Option(help="Output file: .parquet, .npy (+ .ids.csv) or .h5ad (AnnData).")] = "vectors.parquet",
    as_of: Annotated[str | None, typer.Option(help="Use only events strictly before this date (ISO).")] = None,
    as_of_table: Annotated[str | None, typer.Option(help="Table of (patient_id, as_of|index_date): the cohort and each one's as-of.")] = None,
    as_of_column: Annotated[str | None, typer.Option(help="Date column of --as-of-table.")] = None,
    window: Annotated[str | None, typer.Option(help="Only events within this long before the as-of, e.g. 365d.")] = None,
    weighting: Annotated[str, typer.Option(help="mean, count, idf or time-decay.")] = "mean",
    half_life: Annotated[str, typer.Option(help="Half-life of time-decay weighting, e.g. 180d.")] = "180d",
    systems: Annotated[str | None, typer.Option(help="Comma-separated code systems to use.")] = None,
    by_system: Annotated[bool, typer.Option(help="One block of columns per code system / OMOP domain.")] = False,
    model: Annotated[str | None, typer.Option(help="Use this encoder's embeddings (else the only one cached).")] = None,
    fingerprint: Annotated[str | None, typer.Option(help="Use the embeddings of this encoder fingerprint.")] = None,
    table: Annotated[str, typer.Option(help="Name of the embeddings table.")] = "code_embeddings",
    engine: Annotated[str, typer.Option(help="'local' (one process) or 'spark' (DB is a parquet/OMOP/MEDS folder or Spark database).")] = "local",
    master: Annotated[str, typer.Option(help="Spark master with --engine spark.")] = "local[*]",
    embeddings: Annotated[str | None, typer.Option(help="With --engine spark: the code-embedding table (parquet folder, Spark table or database); default DB/code_embeddings.parquet.")] = None,
    aggregate: Annotated[str, typer.Option(
        help="database: count (patient, code) pairs in SQL; events: stream every event; auto: database where possible.",
    )] = "auto",
    create_indexes: Annotated[bool, typer.Option(
        help="Let ehrfeat create SQLite indexes on the events table for the database path (reported; they stay).",
    )] = False,
) -> None:
    """Patient x dim vectors from the cached code embeddings, with no event from on or after the as-of.

    With --engine spark, --as-of-table is a parquet path or Spark table, and --out is written
    as a parquet folder with the columns of the one-machine parquet file.
    """
    if engine == "spark":
        from ehrfeat.cli.spark import patient_vectors_on_spark

        patient_vectors_on_spark(
            db, out=out, embeddings=embeddings, master=master, fingerprint=fingerprint, model=model, as_of=as_of,
            as_of_table=as_of_table, as_of_column=as_of_column, window=window, weighting=weighting, half_life=half_life,
            systems=[s.strip() for s in systems.split(",") if s.strip()] if systems else None, by_system=by_system,
        )
        return
    from ehrfeat.patients.output import write_vectors
    from ehrfeat.patients.settings import VectorSettings
    from ehrfeat.patients.vectors import patient_vectors

    with reported_errors():
        if engine != "local":
            from ehrfeat.errors import InputError

            raise InputError(f"unknown engine {engine!r}", fix="use --engine local or --engine spark", code="E1613")
        settings = VectorSettings(
            fingerprint=fingerprint, model=model, as_of=as_of, as_of_table=as_of_table, as_of_column=as_of_column,
            window=window, weighting=weighting, half_life=half_life, by_system=by_system, table=table,
            systems=tuple(s.strip() for s in systems.split(",") if s.strip()) if systems else None,
            aggregate=aggregate, create_indexes=create_indexes,
        )
        vectors = patient_vectors(db, settings)
        written = write_vectors(vectors, out)
    assert vectors.report is not None
    typer.echo("\n".join([*vectors.report.lines(), f"written:                {', '.join(map(str, written))}"]))


def register(app: typer.Typer) -> None:
    app.command("patient-vectors")(patient_vectors_command)
