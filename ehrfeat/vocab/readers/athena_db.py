"""OMOP vocabularies inside a CDM database (``concept``, ``concept_relationship``,
``concept_ancestor``, ``concept_synonym``), read with SQLAlchemy 2.

Table and column names are matched case-insensitively (``CONCEPT`` on SQL Server
exports, ``concept`` on PostgreSQL); ``schema`` selects the vocabulary schema.
Rows are streamed, only the ``Is a`` relationships and direct ancestors are kept.
Same keys, aliases and skip rules as :func:`~ehrfeat.vocab.readers.athena.read_athena`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ehrfeat.errors import DatabaseError, VocabularyError
from ehrfeat.vocab.readers.athena import (
    ANCESTOR_COLUMNS,
    CONCEPT_COLUMNS,
    RELATIONSHIP_COLUMNS,
    SYNONYM_COLUMNS,
    AthenaBuilder,
)
from ehrfeat.vocab.source import VocabSource

__all__ = ["read_athena_db"]


def _engine(engine_or_url: Any) -> Any:
    import sqlalchemy as sa

    if isinstance(engine_or_url, sa.engine.Engine):
        return engine_or_url
    try:
        return sa.create_engine(str(engine_or_url))
    except Exception as exc:  # bad URL or missing driver
        raise DatabaseError(
            f"cannot open database {engine_or_url!r}: {exc}",
            fix="pass an SQLAlchemy engine or URL such as sqlite:///cdm.db",
            code="E204",
        ) from exc


def _rows(conn: Any, table: Any, columns: Sequence[str], where: Any = None) -> Iterator[dict[str, object]]:
    import sqlalchemy as sa

    by_lower = {c.name.lower(): c for c in table.columns}
    missing = [c for c in columns if c not in by_lower]
    if missing:
        raise VocabularyError(
            f"table {table.name} has no column(s) {', '.join(missing)}",
            fix=f"point to an OMOP CDM vocabulary schema whose {table.name} has {', '.join(columns)}",
            code="E112",
        )
    query = sa.select(*(by_lower[c].label(c) for c in columns))
    if where is not None:
        query = query.where(where(by_lower))
    result = conn.execution_options(stream_results=True).execute(query)
    for row in result.mappings():
        yield dict(row)


def read_athena_db(engine_or_url: Any, *, schema: str | None = None, include_invalid: bool = False) -> VocabSource:
    """Concepts, synonyms and per-vocabulary hierarchies from the vocabulary tables of a CDM database."""
    import sqlalchemy as sa

    engine = _engine(engine_or_url)
    try:
        names = {n.lower(): n for n in sa.inspect(engine).get_table_names(schema=schema)}
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(
            f"cannot list the tables of {engine.url!r}: {exc}", fix="check the URL, credentials and schema", code="E205"
        ) from exc
    if "concept" not in names:
        raise VocabularyError(
            f"database {engine.url!r} has no concept table (schema {schema or 'default'})",
            fix="pass the database (and schema=) holding the OMOP vocabulary tables",
            code="E118",
        )
    meta = sa.MetaData(schema=schema)
    builder = AthenaBuilder(include_invalid=include_invalid)
    with engine.connect() as conn:

        def table(name: str) -> Any:
            return sa.Table(names[name], meta, autoload_with=conn)

        builder.add_concepts(_rows(conn, table("concept"), CONCEPT_COLUMNS))
        if "concept_ancestor" in names:
            direct = lambda c: sa.cast(c["min_levels_of_separation"], sa.Integer) == 1  # noqa: E731
            builder.add_ancestors(_rows(conn, table("concept_ancestor"), ANCESTOR_COLUMNS, direct))
        if "concept_relationship" in names:
            rel = table("concept_relationship")
            cols = (
                [*RELATIONSHIP_COLUMNS, "invalid_reason"]
                if any(c.name.lower() == "invalid_reason" for c in rel.columns)
                else list(RELATIONSHIP_COLUMNS)
            )
            builder.add_relationships(_rows(conn, rel, cols, lambda c: c["relationship_id"] == "Is a"))
        if "concept_synonym" in names:
            builder.add_synonyms(_rows(conn, table("concept_synonym"), SYNONYM_COLUMNS))
    return builder.source(f"OMOP vocabularies {engine.url.database or engine.url}")
