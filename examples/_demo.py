"""Shared by the examples: the demo database with its code embeddings, built on first use."""

from __future__ import annotations

from pathlib import Path

DEMO_DB = Path(__file__).parent / "patients.db"


def demo_database(path: Path = DEMO_DB) -> Path:
    """``examples/patients.db`` with cached code embeddings of the default encoder (built if missing)."""
    from ehrfeat.demo import make_demo_db
    from ehrfeat.embed import embed_codes
    from ehrfeat.store.database import open_database
    from ehrfeat.store.embeddings import EmbeddingCache

    if not path.exists():
        print(make_demo_db(path).line())
    if not EmbeddingCache(open_database(path)).fingerprints():
        print("embedding the codes with the default encoder (about 10 s) ...")
        embed_codes(path)
    return path
