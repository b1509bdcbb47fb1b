"""``ehrfeat patient-vectors DB --out vectors.parquet``: one vector per patient."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ehrfeat.cli.errors import reported_errors
from ehrfeat.cli.options import split_systems
from ehrfeat.errors import InputError
from ehrfeat.extras import require

__all__ = ["register"]

# Optional packages each output format needs (the patients / anndata extras).
_WRITERS = {".parquet": ("pyarrow",), ".npy": ("pandas",), ".h5ad": ("anndata", "pandas")}


def patient_vectors_command(
    db: Annotated[str, typer.Argument(help="Patient database with cached code embeddings (path or URL), or a MEDS dataset folder.")],
    out: Annotated[str, typer.Option(help="Output file: .parquet, .npy (+ .ids.csv) or .h5ad (AnnData).")] = "vectors.parquet",
    as_of: Annotated[str | None, typer.Option(help="Use only events strictly before this date (ISO).")] = None,
    as_of_table: Annotated[str | None, typer.Option(help="Table of (patient_id, as_of|index_date): the cohort and each one's as-of. "
                                                    "MEDS: a label table (parquet file or folder: subject_id, prediction_time, labels).")] = None,
    as_of_rule: Annotated[str | None, typer.Option(help="strict (events before the as-of; default for OMOP/native) or inclusive "
                                                   "(at or before; default for MEDS).")] = None,
    embeddings: Annotated[str | None, typer.Option(help="MEDS: the code-vector parquet file (default MEDS_DIR/metadata/ehrfeat_code_embeddings.parquet). "
                                                   "--engine spark: the code-embedding table (parquet folder, Spark table or database; default DB/code_embeddings.parquet).")] = None,
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
    output_format: Annotated[str, typer.Option("--format", help="--engine spark: parquet or delta (needs delta-spark and Delta's jars).")] = "parquet",
    single_file: Annotated[bool, typer.Option(help="--engine spark: one parquet file at --out (written atomically), not a folder.")] = False,
    aggregate: Annotated[str, typer.Option(
        help="database: codes and times mapped in SQL, integer rows streamed; counts: (patient, code) counts in SQL "
             "(PostgreSQL, DuckDB; for slow links); events: every event in Python; auto: database where possible.",
    )] = "auto",
    create_indexes: Annotated[bool, typer.Option(
        help="Let ehrfeat create a SQLite index on events(code_system, code, patient_id): faster --systems (reported; it stays).",
    )] = False,
    schema: Annotated[str | None, typer.Option("--schema", help="Server schema holding the CDM or events (PostgreSQL, DuckDB), e.g. cdm.")] = None,
    write_schema: Annotated[str | None, typer.Option("--write-schema", help="Schema embed-codes wrote the code embeddings to, e.g. results.")] = None,
    source_system: Annotated[list[str] | None, typer.Option(
        "--source-system", help="OMOP: the same TABLE=SYSTEMS as given to embed-codes --source-system (repeatable).")] = None,
    duplicate_concepts: Annotated[str, typer.Option(
        "--duplicate-concepts", help="OMOP: a concept id CONCEPT lists more than once: error (default), first (keep the first row by "
        "vocabulary_id, concept_code) or skip (its events use their source values); counted in the summary.")] = "error",
) -> None:
    """Patient x dim vectors from the cached code embeddings, with no event after the as-of (on it: --as-of-rule).

    With --engine spark, --as-of-table is a parquet path or Spark table, and --out is written
    as a parquet folder with the columns of the one-machine parquet file (--single-file: one
    parquet file; --format delta: a Delta table).
    """
    if engine == "spark":
        from ehrfeat.cli.spark import patient_vectors_on_spark

        patient_vectors_on_spark(
            db, out=out, embeddings=embeddings, master=master, fingerprint=fingerprint, model=model, as_of=as_of,
            as_of_table=as_of_table, as_of_column=as_of_column, window=window, weighting=weighting, half_life=half_life,
            systems=[s.strip() for s in systems.split(",") if s.strip()] if systems else None, by_system=by_system,
            as_of_rule=as_of_rule or "strict", fmt=output_format, single_file=single_file, duplicate_concepts=duplicate_concepts,
        )
        return
    from ehrfeat.patients.as_of_rule import rule_line
    from ehrfeat.patients.output import check_vectors_target, write_vectors
    from ehrfeat.patients.settings import VectorSettings
    from ehrfeat.patients.vectors import patient_vectors
    from ehrfeat.store.meds.dataset import looks_like_meds

    wanted = split_systems(systems)
    if looks_like_meds(db):
        from ehrfeat.patients.meds_vectors import (
            check_prediction_output,
            meds_patient_vectors,
            meds_settings,
            write_prediction_vectors,
        )

        with reported_errors():
            check_prediction_output(out)
            if as_of is not None:
                raise InputError("a MEDS dataset takes prediction times from a label table, not --as-of",
                                 fix="pass --as-of-table LABELS.parquet (subject_id, prediction_time)", code="E1514")
            rows = meds_patient_vectors(
                db, meds_settings(as_of_rule=as_of_rule or "inclusive", fingerprint=fingerprint, window=window,
                                  weighting=weighting, half_life=half_life, systems=wanted, by_system=by_system),
                labels=as_of_table, embeddings=embeddings,
            )
            path = write_prediction_vectors(rows, out)
        assert rows.report is not None
        typer.echo("\n".join([*rows.report.lines(), f"written:                {path}"]))
        return
    with reported_errors():
        if engine != "local":
            raise InputError(f"unknown engine {engine!r}", fix="use --engine local or --engine spark", code="E1613")
        for module in _WRITERS.get(Path(out).suffix.lower(), ()):  # before minutes of work, not after
            require(module, needed_for=f"writing {out}")
        check_vectors_target(out)  # before the work, not after it
        rule = as_of_rule or "strict"
        settings = VectorSettings(
            fingerprint=fingerprint, model=model, as_of=as_of, as_of_table=as_of_table, as_of_column=as_of_column,
            window=window, weighting=weighting, half_life=half_life, by_system=by_system, table=table,
            systems=tuple(wanted) if wanted else None, aggregate=aggregate, create_indexes=create_indexes, as_of_rule=rule,
            source_systems=tuple(source_system) if source_system else None, duplicate_concepts=duplicate_concepts,
        )
        source: object = db
        if schema or write_schema:
            from ehrfeat.store.database import open_database
            from ehrfeat.store.search_path import in_schemas

            source = in_schemas(open_database(db), schema, write_schema)
        vectors = patient_vectors(source, settings)
        written = write_vectors(vectors, out)
    assert vectors.report is not None
    typer.echo("\n".join([rule_line(rule), *vectors.report.lines(), f"written:                {', '.join(map(str, written))}"]))


def register(app: typer.Typer) -> None:
    app.command("patient-vectors")(patient_vectors_command)
