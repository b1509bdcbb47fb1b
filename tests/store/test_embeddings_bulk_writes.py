"""Bulk writes of the code-embedding cache take the driver's fast path (COPY / one executemany), not a row per statement."""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from sqlalchemy import event

from ehrfeat.codes import Code
from ehrfeat.store import EmbeddingCache, open_database


def test_one_batch_is_one_statement_and_reads_back_exactly(database_url: str) -> None:
    engine = open_database(database_url, must_exist=False)
    cache = EmbeddingCache(engine)
    cache.ensure_table()
    statements: list[tuple[str, bool]] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, params, context, executemany: statements.append((statement, executemany)))
    n = 1500
    items = [(Code("SOURCE_TEXT", f"condition:text number {i}"), f"text number {i}") for i in range(n)]
    vectors = np.random.default_rng(0).standard_normal((n, 8)).astype(np.float32)
    assert cache.write("fp", items, vectors) == n
    inserts = [(s, many) for s, many in statements if s.lstrip().upper().startswith("INSERT")]
    if engine.dialect.name == "postgresql":
        assert inserts == []  # COPY FROM STDIN, through psycopg's copy protocol
    else:
        assert len(inserts) == 1 and inserts[0][1]  # one executemany
    assert cache.write("fp", items[:10], vectors[:10]) == 0  # already present: nothing written twice
    loaded = cache.load("fp")
    order = {code: i for i, (code, _) in enumerate(items)}
    idx = [order[c] for c in loaded.codes]
    np.testing.assert_array_equal(loaded.matrix, vectors[idx])  # bytes survive exactly
    with engine.connect() as conn:
        blob = conn.execute(sa.text("SELECT vector FROM code_embeddings WHERE code = 'condition:text number 7'")).scalar()
    assert np.frombuffer(blob, "<f4").tolist() == vectors[7].tolist()  # the documented layout: little-endian float32
    engine.dispose()
