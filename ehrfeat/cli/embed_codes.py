"""``ehrfeat embed-codes DB``: the main job."""

from __future__ import annotations

from typing import Annotated

import typer

from ehrfeat.cli.errors import reported_errors
from ehrfeat.cli.options import split_systems

__all__ = ["register"]


def embed_codes_command(
    db: Annotated[str, typer.Argument(help="Patient database (a SQLite path or a database URL) or a MEDS dataset folder.")],
    model: Annotated[str | None, typer.Option(help="Model folder, hub id, 'minilm' or 'hiprbert-mini' (when shipped). Default: ehrfeat's default encoder.")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Codes per batch (and per transaction).")] = 256,
    systems: Annotated[str | None, typer.Option(help="Comma-separated code systems, e.g. ICD10CM,ICD9CM.")] = None,
    out: Annotated[str | None, typer.Option(help="Write embeddings to this database instead (path or URL); MEDS: a .parquet file "
                                            "(default MEDS_DIR/metadata/ehrfeat_code_embeddings.parquet).")] = None,
    table: Annotated[str, typer.Option(help="Name of the embeddings table.")] = "code_embeddings",
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    engine: Annotated[str, typer.Option(help="'local' (one process) or 'spark' (DB is a parquet/OMOP/MEDS folder or Spark database).")] = "local",
    master: Annotated[str, typer.Option(help="Spark master with --engine spark.")] = "local[*]",
    output_format: Annotated[str, typer.Option("--format", help="--engine spark: parquet (a folder) or delta (needs delta-spark and Delta's jars).")] = "parquet",
    code_rules: Annotated[str | None, typer.Option(help="MEDS: a TOML file of extra code-string rules (prefix -> system).")] = None,
    update_codes: Annotated[bool, typer.Option(help="MEDS: also rewrite metadata/codes.parquet (atomically) with texts and vectors.")] = False,
    source_system: Annotated[list[str] | None, typer.Option(
        "--source-system",
        help="OMOP: code systems of a table's source values, in order, e.g. condition=ICD10CM,ICD9CM (repeatable). "
        "Default: condition ICD10CM,ICD9CM; procedure ICD10PCS,ICD9Proc,CPT4; drug NDC,RxNorm; measurement LOINC; "
        "observation ICD10CM,ICD9CM,LOINC.")] = None,
    report: Annotated[str | None, typer.Option("--report", help="Also write the summary and coverage report as JSON to this file.")] = None,
    schema: Annotated[str | None, typer.Option("--schema", help="Server schema holding the CDM or events (PostgreSQL, DuckDB), e.g. cdm.")] = None,
    write_schema: Annotated[str | None, typer.Option("--write-schema", help="Schema to write ehrfeat's tables to, e.g. results (default: --schema).")] = None,
    duplicate_concepts: Annotated[str, typer.Option(
        "--duplicate-concepts", help="OMOP: a concept id CONCEPT lists more than once: error (default), first (keep the first row by "
        "vocabulary_id, concept_code) or skip (its events use their source values); counted in the summary.")] = "error",
) -> None:
    """Embed every distinct code patients carry into the code_embeddings table (MEDS: into a parquet file).

    With --engine spark the output (--out, default DB/code_embeddings.parquet) is a parquet
    folder (or, with --format delta, a Delta table) with the columns of the code_embeddings table.
    """
    if engine == "spark":
        from ehrfeat.cli.spark import embed_codes_on_spark

        embed_codes_on_spark(db, model=model, batch_size=batch_size, systems=split_systems(systems), out=out, master=master,
                             fmt=output_format, duplicate_concepts=duplicate_concepts)
        return
    from ehrfeat.embed import embed_codes
    from ehrfeat.paths import check_output_file, json_has_keys
    from ehrfeat.store.meds.dataset import looks_like_meds

    if report is not None:
        with reported_errors():
            # before the work, not after it; an earlier run's report is replaced
            check_output_file(report, "report file", ours=lambda p: json_has_keys(p, ("fingerprint", "codes_found")),
                              example="report.json")
    if looks_like_meds(db):
        from ehrfeat.embed_meds import embed_meds_codes

        with reported_errors():
            meds_report = embed_meds_codes(db, model=model, batch_size=batch_size, out=out, code_rules=code_rules,
                                           systems=split_systems(systems), update_codes=update_codes, show_progress_bar=progress)
            if report is not None:
                meds_report.write_json(report)
        typer.echo("\n".join(meds_report.lines()))
        return
    with reported_errors():
        if engine != "local":
            from ehrfeat.errors import InputError

            raise InputError(f"unknown engine {engine!r}", fix="use --engine local or --engine spark", code="E1613")
        result = embed_codes(
            db, model=model, batch_size=batch_size, systems=split_systems(systems), out=out, table=table, show_progress_bar=progress,
            source_systems=source_system, schema=schema, write_schema=write_schema, duplicate_concepts=duplicate_concepts,
        )
        if report is not None:
            result.write_json(report)
    typer.echo("\n".join(result.lines()))



def register(app: typer.Typer) -> None:
    app.command("embed-codes")(embed_codes_command)
