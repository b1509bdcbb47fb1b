"""The code-embedding table on Spark: read it (to the driver: codes x dim is small) and its columns.

The table has the columns of the SQL ``code_embeddings`` table (``fingerprint,
code_system, code, text, dim, vector, model, created_at``; ``vector`` is the
little-endian float32 bytes). It may be a parquet folder written by
:func:`ehrfeat.spark.embed_codes`, any Spark table or DataFrame with those columns,
or a SQL database that ``ehrfeat embed-codes`` filled.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ehrfeat.codes import Code, canonical_system
from ehrfeat.errors import InputError
from ehrfeat.spark.source import table
from ehrfeat.store.embeddings import DEFAULT_TABLE, CodeEmbeddings

__all__ = ["EMBEDDING_SCHEMA", "load_code_embeddings"]

EMBEDDING_SCHEMA = (
    "fingerprint string, code_system string, code string, text string, dim int, vector binary, model string, created_at string"
)


def _is_sql(ref: Any) -> bool:
    text = str(ref)
    return "://" in text or Path(text).suffix.lower() in (".db", ".sqlite", ".sqlite3")


def load_code_embeddings(
    spark: Any, embeddings: Any, *, fingerprint: str | None = None, systems: Sequence[str] | None = None,
    sql_table: str = DEFAULT_TABLE,
) -> CodeEmbeddings:
    """The vectors of one encoder, sorted by (system, code) as :meth:`EmbeddingCache.load` sorts them."""
    if isinstance(embeddings, CodeEmbeddings):
        if not systems:
            return embeddings
        keep = {canonical_system(s) for s in systems}
        rows = [i for i, c in enumerate(embeddings.codes) if c.system in keep]
        return CodeEmbeddings(embeddings.fingerprint, tuple(embeddings.codes[i] for i in rows),
                              tuple(embeddings.texts[i] for i in rows), embeddings.matrix[rows])
    if isinstance(embeddings, str | Path) and _is_sql(embeddings):
        from ehrfeat.patients.vectors import load_embeddings
        from ehrfeat.store.database import open_database

        return load_embeddings(open_database(embeddings), table=sql_table, fingerprint=fingerprint, systems=systems)
    from pyspark.sql import functions as F

    frame = table(spark, embeddings, "code-embedding table")
    present = {r["fingerprint"]: int(r["n"]) for r in frame.groupBy("fingerprint").agg(F.count(F.lit(1)).alias("n")).collect()}
    if fingerprint is None:
        if len(present) != 1:
            raise InputError(
                f"the code-embedding table holds {len(present)} encoders: {sorted(present)}",
                fix="choose one with --fingerprint (or --model)" if present else "run `ehrfeat embed-codes --engine spark` first",
                code="E1609",
            )
        fingerprint = next(iter(present))
    elif fingerprint not in present:
        raise InputError(f"no embeddings of encoder {fingerprint} in the code-embedding table",
                         fix=f"run embed-codes with that model first; present: {sorted(present)}", code="E1609")
    rows = frame.where(F.col("fingerprint") == fingerprint)
    if systems:
        rows = rows.where(F.col("code_system").isin([canonical_system(s) for s in systems]))
    local = rows.select("code_system", "code", "text", "dim", "vector").toPandas()
    local = local.sort_values(["code_system", "code"], kind="stable").reset_index(drop=True)
    if local.empty:
        raise InputError("no cached code embeddings for these systems", fix="run embed-codes (with the same --systems) first",
                         code="E1616")
    dim = int(local["dim"].iloc[0])
    blob = b"".join(bytes(v) for v in local["vector"])
    if (local["dim"] != dim).any() or len(blob) != 4 * dim * len(local):
        raise InputError("the code-embedding table mixes dimensions or holds corrupt vectors",
                         fix=f"delete the rows of fingerprint {fingerprint} and embed again", code="E1610")
    matrix = np.frombuffer(blob, dtype="<f4").reshape(len(local), dim).astype(np.float32)
    codes = tuple(Code(s, c) for s, c in zip(local["code_system"], local["code"], strict=True))
    return CodeEmbeddings(fingerprint, codes, tuple(local["text"]), matrix)
