"""``ehrfeat link-notes DB``: link the mentions of every note to codes, into NOTE_NLP."""

from __future__ import annotations

from typing import Annotated

import typer

from ehrfeat.cli.errors import reported_errors
from ehrfeat.cli.options import SchemaOption, WriteSchemaOption, split_systems
from ehrfeat.extras import require

__all__ = ["register"]


def link_notes_command(
    db: Annotated[str, typer.Argument(help="Database with OMOP NOTE or a native notes table (path or URL).")],
    model: Annotated[str | None, typer.Option(help="Encoder: model folder, hub id, 'minilm' or 'hiprbert-mini' (when shipped). Default: ehrfeat's default.")] = None,
    index: Annotated[str, typer.Option(help="Code index: auto (the DB's code_embeddings of the model, else built-in), builtin, db, or an index folder.")] = "auto",
    pipeline: Annotated[str | None, typer.Option(help="A saved spaCy pipeline with the ehrfeat_linker (e.g. after a scispaCy NER); overrides --model/--index.")] = None,
    systems: Annotated[str | None, typer.Option(help="Comma-separated code systems to link to (default: ICD10CM built-in, or all in the DB).")] = None,
    threshold: Annotated[float, typer.Option(help="Minimum cosine of a linked code.")] = 0.5,
    per_mention: Annotated[int, typer.Option(min=1, help="NOTE_NLP rows per mention (its top codes).")] = 1,
    batch_size: Annotated[int, typer.Option(min=1, help="Notes per batch (and per transaction).")] = 64,
    n_process: Annotated[int, typer.Option(min=1, help="spaCy worker processes.")] = 1,
    max_note_chars: Annotated[int | None, typer.Option(min=1, help="Skip (and count) notes longer than this. Default: link every note; one over spaCy's 1,000,000 characters "
                                                     "is linked in windows split at sentence ends.")] = None,
    negated: Annotated[str, typer.Option(help="keep: write negated mentions with term_exists=N; drop: write none of them.")] = "keep",
    context: Annotated[bool, typer.Option(help="ConText flags and sections (term_exists, term_temporal); not with --pipeline.")] = True,
    clinical_abbreviations: Annotated[bool, typer.Option(help="Link undefined clinical abbreviations (T2DM, HTN, ...); not with --pipeline.")] = True,
    schema: SchemaOption = None,
    write_schema: WriteSchemaOption = None,
) -> None:
    """Write one NOTE_NLP row per linked mention; notes already linked with the same settings are skipped, with others replaced."""
    from ehrfeat.linking.notes import link_notes, pipeline_for

    with reported_errors():
        require("spacy", needed_for="`ehrfeat link-notes`")  # before the encoder and the index are built
        nlp = pipeline_for(db, pipeline=pipeline, model=model, index=index, systems=split_systems(systems), threshold=threshold,
                           k=per_mention, context=context, clinical_abbreviations=clinical_abbreviations,
                           schema=write_schema or schema)
        report = link_notes(db, nlp=nlp, per_mention=per_mention, batch_size=batch_size, n_process=n_process, negated=negated,
                            max_note_chars=max_note_chars, schema=schema, write_schema=write_schema)
    typer.echo("\n".join(report.lines()))



def register(app: typer.Typer) -> None:
    app.command("link-notes")(link_notes_command)
