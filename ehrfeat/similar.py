"""Nearest codes to a code, from the code-embedding cache."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import Engine

from ehrfeat.codes import OMOP, canonical_system
from ehrfeat.errors import EhrfeatError, InputError
from ehrfeat.index import CodeIndex, Neighbour
from ehrfeat.models.loader import default_fingerprint
from ehrfeat.store.database import masked_url, open_database
from ehrfeat.store.embeddings import DEFAULT_TABLE, EmbeddingCache
from ehrfeat.store.omop_concept_table import Concepts
from ehrfeat.store.schema import detect_schema
from ehrfeat.store.search_path import in_schemas

__all__ = ["omop_concept_code", "similar_codes"]


def omop_concept_code(engine: Engine, code: str) -> tuple[str, str] | None:
    """The ``(system, code)`` of an OMOP concept id (``201826`` or ``OMOP:201826``) through the database's
    CONCEPT table, the key embed-codes stores it under; None where there is no such concept or table."""
    text = code.split(":", 1)[1] if code.upper().startswith("OMOP:") else code
    if not text.isdigit():
        return None
    try:
        schema = detect_schema(engine)
    except EhrfeatError:
        return None
    if schema.kind != "omop":
        return None
    concepts = Concepts(engine, schema)
    if concepts.table is None:
        return None
    with engine.connect() as conn:
        concepts.resolve(conn, [int(text)])
    key = concepts.keys.get(int(text))
    return key if isinstance(key, tuple) else None


def similar_codes(
    code: str,
    database: str | Path,
    *,
    k: int = 10,
    system: str | None = None,
    fingerprint: str | None = None,
    systems: Sequence[str] | None = None,
    table: str = DEFAULT_TABLE,
    schemas: Sequence[str | None] = (),
) -> tuple[str, str, list[Neighbour]]:
    """``(query code, its text, its k nearest codes)``; ``code`` may be ``SYSTEM:CODE``, or in an OMOP
    database with a CONCEPT table a concept id (``201826``, ``OMOP:201826``, or ``201826`` with ``system="OMOP"``).

    ``schemas``: the server schemas to find ``table`` in, in order (embed-codes' ``--write-schema``
    then ``--schema``); it is only read.
    """
    engine = in_schemas(open_database(database), *schemas)
    cache = EmbeddingCache(engine, table)
    index = CodeIndex(cache.load(fingerprint, default=default_fingerprint))
    found = index.find(code, system)
    if not found and (system is None or canonical_system(system) == OMOP):
        key = omop_concept_code(engine, code)
        if key is not None:
            found = index.find(key[1], key[0])
    if not found:
        held = sorted({c.system for c in index.embeddings.codes})
        where = f" (system {system}; the embeddings hold {', '.join(held)})" if system else ""
        raise InputError(
            f"code {code!r} has no embedding in {masked_url(database)}{where}",
            fix="check the code and --system, or run `ehrfeat embed-codes` on the database first",
            code="E126",
        )
    if len(found) > 1:
        raise InputError(
            f"code {code!r} exists in several systems: {', '.join(map(str, found))}",
            fix="qualify it as SYSTEM:CODE or pass --system",
            code="E127",
        )
    ref = found[0]
    return str(ref), index.text(ref), index.neighbours(ref, k, systems=systems)
