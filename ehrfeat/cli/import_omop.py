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
        db: Annotated[str, typer.Argument(help="Target SQLite file (created if missing) or SQLAlchemy URL.")],
        replace: Annotated[bool, typer.Option("--replace", help="Overwrite tables that already hold rows.")] = False,
    ) -> None:
        """Load OMOP CDM CSV files into a database, one table per file."""
        from ehrfeat.store.omop_import import import_omop

        with reported_errors():
            report = import_omop(source, db, replace=replace)
        for table, rows in report.tables.items():
            bad, nul = report.decode_errors.get(table, 0), report.nul_removed.get(table, 0)
            notes = ([f"{bad} rows with non-UTF-8 bytes replaced"] if bad else []) + ([f"{nul} rows with NUL bytes removed"] if nul else [])
            typer.echo(f"{table}\t{rows}" + (f"\t({'; '.join(notes)})" if notes else ""))
        for name, reason in report.skipped_files.items():
            typer.echo(f"skipped {name}: {reason}", err=True)
        typer.echo(f"imported {report.total_rows} rows into {len(report.tables)} tables of {report.target}")
