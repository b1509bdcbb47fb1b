"""``ehrfeat import-omop CSV_DIR_OR_ZIP DB``: load OMOP CDM CSV files into a SQLite database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ehrfeat.cli.errors import reported_errors

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("import-omop")
    def import_omop_command(
        source: Annotated[Path, typer.Argument(help="Folder or .zip of OMOP CDM CSV files (CONCEPT.csv, PERSON.csv...).")],
        db: Annotated[str | None, typer.Argument(help="Target SQLite file (created if missing) or SQLAlchemy URL.")] = None,
        to: Annotated[str | None, typer.Option("--to", help="The target, as an option: e.g. --to duckdb:///omop.duckdb.")] = None,
        replace: Annotated[bool, typer.Option("--replace", help="Overwrite tables that already hold rows.")] = False,
        schema: Annotated[str | None, typer.Option("--schema", help="Load into this server schema (PostgreSQL, DuckDB), e.g. cdm.")] = None,
    ) -> None:
        """Load OMOP CDM CSV files into a database, one table per file (DuckDB: with its own CSV reader)."""
        from ehrfeat.errors import InputError
        from ehrfeat.store.database import masked_url
        from ehrfeat.store.omop_import import import_omop

        with reported_errors():
            if (db is None) == (to is None):
                raise InputError("give the target database once: as the DB argument or as --to",
                                 fix="e.g. ehrfeat import-omop CSV_DIR omop.db, or ehrfeat import-omop CSV_DIR --to duckdb:///omop.duckdb",
                                 code="E1410")
            target = db if db is not None else str(to)
            report = import_omop(source, target, replace=replace, schema=schema)
        for table, rows in report.tables.items():
            bad, nul = report.decode_errors.get(table, 0), report.nul_removed.get(table, 0)
            notes = ([f"{bad} rows with non-UTF-8 bytes replaced"] if bad else []) + ([f"{nul} rows with NUL bytes removed"] if nul else [])
            typer.echo(f"{table}\t{rows}" + (f"\t({'; '.join(notes)})" if notes else ""))
        for name, reason in report.skipped_files.items():
            typer.echo(f"skipped {name}: {reason}", err=True)
        typer.echo(f"imported {report.total_rows} rows into {len(report.tables)} tables of {masked_url(target)}")
