"""Nearest codes to a code, from the code-embedding cache."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ehrfeat.errors import InputError
from ehrfeat.index import CodeIndex, Neighbour
from ehrfeat.models.loader import default_fingerprint
from ehrfeat.store.database import masked_url, open_database
from ehrfeat.store.embeddings import DEFAULT_TABLE, EmbeddingCache
from ehrfeat.store.search_path import in_schemas

__all__ = ["similar_codes"]


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
    """``(query code, its text, its k nearest codes)``; ``code`` may be ``SYSTEM:CODE``.

    ``schemas``: the server schemas to find ``table`` in, in order (embed-codes' ``--write-schema``
    then ``--schema``); it is only read.
    """
    cache = EmbeddingCache(in_schemas(open_database(database), *schemas), table)
    index = CodeIndex(cache.load(fingerprint, default=default_fingerprint))
    found = index.find(code, system)
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
