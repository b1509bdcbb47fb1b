"""``ehrfeat build-index OUT_DIR``: build the linker's code index folder once, ahead of time."""

from __future__ import annotations

from typing import Annotated

import typer

from ehrfeat.cli.errors import reported_errors
from ehrfeat.cli.options import SchemaOption, WriteSchemaOption, split_systems

__all__ = ["register"]


def build_index_command(
    out_dir: Annotated[str, typer.Argument(help="Folder to write (index.json, matrix.npy, terms.json).")],
    model: Annotated[str | None, typer.Option(help="Encoder: model folder, hub id, 'minilm' or 'hiprbert-mini' (when shipped). Default: ehrfeat's default.")] = None,
    systems: Annotated[str, typer.Option(help="Comma-separated built-in systems: ICD10CM, HPO.")] = "ICD10CM",
    max_code_length: Annotated[int, typer.Option(min=3, max=7, help="ICD-10-CM codes up to this many characters (3: categories, 7: all).")] = 4,
    db: Annotated[str | None, typer.Option(help="Take the vectors from this database's code_embeddings (see embed-codes) instead.")] = None,
    table: Annotated[str, typer.Option(help="Embeddings table of --db.")] = "code_embeddings",
    schema: SchemaOption = None,
    write_schema: WriteSchemaOption = None,
) -> None:
    """Embed the built-in vocabularies' code names (or read a database's code embeddings) into an index folder."""
    from ehrfeat.linking import open_index, parse_index_spec, save_index
    from ehrfeat.linking.code_index import check_index_folder
    from ehrfeat.models.loader import load_encoder

    with reported_errors():
        check_index_folder(out_dir)  # before the work: never after minutes of embedding
        setting = {"db": db, "table": table, "schema": write_schema or schema} if db else {"max_code_length": max_code_length}
        index = open_index(parse_index_spec(setting), load_encoder(model), (split_systems(systems) or []) if not db else [])
        folder = save_index(index, out_dir)
    typer.echo(f"{len(index)} codes, {len(index.terms)} dictionary terms, encoder {index.fingerprint} -> {folder}")
    typer.echo(f'use it with nlp.add_pipe("ehrfeat_linker", config={{"index": {{"path": "{folder}"}}}})')


def register(app: typer.Typer) -> None:
    app.command("build-index")(build_index_command)
