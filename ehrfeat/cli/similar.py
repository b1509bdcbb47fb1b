"""``ehrfeat similar CODE --db DB``: the nearest codes, to look at the result."""

from __future__ import annotations

from typing import Annotated

import typer

from ehrfeat.cli.errors import reported_errors
from ehrfeat.cli.options import SchemaOption, WriteSchemaOption

__all__ = ["register"]


def similar_command(
    code: Annotated[str, typer.Argument(help="A code, e.g. E11.9 or ICD10CM:E11.9; in an OMOP database also a concept id (201826).")],
    db: Annotated[str, typer.Option("--db", help="Database holding the code_embeddings table.")],
    k: Annotated[int, typer.Option("-k", min=1, help="How many neighbours.")] = 10,
    system: Annotated[str | None, typer.Option(help="Code system of CODE when ambiguous.")] = None,
    model: Annotated[str | None, typer.Option(help="Use the embeddings of this model (needed if several).")] = None,
    table: Annotated[str, typer.Option(help="Name of the embeddings table.")] = "code_embeddings",
    schema: SchemaOption = None,
    write_schema: WriteSchemaOption = None,
) -> None:
    """List the codes nearest to CODE by cosine."""
    from ehrfeat.similar import similar_codes

    with reported_errors():
        fingerprint = _fingerprint(model) if model else None
        query, text, neighbours = similar_codes(code, db, k=k, system=system, fingerprint=fingerprint, table=table,
                                                  schemas=(write_schema, schema))
    typer.echo(f"{query}  {text}")
    for n in neighbours:
        typer.echo(f"  {n.score:6.3f}  {n.system}:{n.code}  {n.text}")


def _fingerprint(model: str) -> str:
    from ehrfeat.models.loader import model_fingerprint

    return model_fingerprint(model)


def register(app: typer.Typer) -> None:
    app.command("similar")(similar_command)
