"""Binary COPY into numpy blocks (``ehrfeat.store.pg_copy``), on a real PostgreSQL server."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

from ehrfeat.store import pg_copy
from ehrfeat.store.pg_copy import copy_columns


def _connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))


def test_rows_across_many_blocks_come_back_exactly(postgresql_url, monkeypatch):
    monkeypatch.setattr(pg_copy, "BLOCK_BYTES", 100)  # a row is 2 + 3 * 12 = 38 bytes: rows straddle the blocks
    query = ("SELECT g::bigint, (g * -3000000000000)::bigint, g::float8 / 4 FROM generate_series(1, %(n)s) g "
             "ORDER BY g")
    with _connect(postgresql_url) as conn:
        blocks = list(copy_columns(conn, query, {"n": 1000}, ints=2, floats=1))
    assert len(blocks) > 100
    ints = np.concatenate([b.ints for b in blocks])
    floats = np.concatenate([b.floats for b in blocks])
    g = np.arange(1, 1001)
    np.testing.assert_array_equal(ints[:, 0], g)
    np.testing.assert_array_equal(ints[:, 1], g * -3_000_000_000_000)
    np.testing.assert_array_equal(floats[:, 0], g / 4)


def test_an_empty_result_gives_no_block(postgresql_url):
    with _connect(postgresql_url) as conn:
        assert list(copy_columns(conn, "SELECT 1::bigint WHERE false", ints=1)) == []


@pytest.mark.parametrize("query", ["SELECT NULL::bigint", "SELECT 1::integer", "SELECT 1::bigint, 2::bigint"])
def test_a_row_of_another_layout_is_an_error_not_a_wrong_number(postgresql_url, query):
    with _connect(postgresql_url) as conn, pytest.raises(ValueError, match=r"layout|inside a row"):
        list(copy_columns(conn, query, ints=1))
