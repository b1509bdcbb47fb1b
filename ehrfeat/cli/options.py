"""Command-line values every command reads the same way."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["SchemaOption", "WriteSchemaOption", "split_systems"]

SchemaOption = Annotated[str | None, typer.Option(
    "--schema", help="Server schema holding the CDM or events (PostgreSQL, DuckDB), e.g. cdm; only read.")]
WriteSchemaOption = Annotated[str | None, typer.Option(
    "--write-schema", help="Server schema holding ehrfeat's tables (code_embeddings, NOTE_NLP), e.g. results "
    "(default: --schema).")]


def split_systems(value: str | None) -> list[str] | None:
    """``--systems ICD10CM, HPO`` as ``["ICD10CM", "HPO"]``; ``None`` when not given or empty (all systems)."""
    return [s.strip() for s in value.split(",") if s.strip()] if value else None
