"""One Spark session for the whole module (local[2], few shuffle partitions, no UI) and the demo database as parquet."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyspark", reason="the Spark tests need the spark extra (pip install 'ehrfeat[spark]')")

from ehrfeat.codes import Code
from ehrfeat.store.database import open_database
from ehrfeat.store.embeddings import EmbeddingCache

DEMO_PATIENTS = 300
FINGERPRINT = "parity-vectors"


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    from ehrfeat.spark.session import spark_session

    session = spark_session(
        "local[2]",
        app_name="ehrfeat-tests",
        conf={
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.memory": "1g",
            "spark.sql.execution.arrow.maxRecordsPerBatch": "1000",
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def export_parquet(db: Path, folder: Path, tables: tuple[str, ...]) -> Path:
    """Each table of a SQLite database as ``folder/NAME.parquet`` (the warehouse export users make)."""
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(db)
    for name in tables:
        pd.read_sql_query(f"SELECT * FROM {name}", con).to_parquet(folder / f"{name}.parquet", index=False)
    con.close()
    return folder


def random_vectors(codes: list[Code], dim: int = 8, seed: int = 0) -> np.ndarray:
    m = np.random.default_rng(seed).standard_normal((len(codes), dim)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo database (SQLite, with code vectors cached) and the same tables as parquet files."""
    from ehrfeat.demo import make_demo_db
    from ehrfeat.store.events import distinct_codes
    from ehrfeat.store.schema import detect_schema

    root = tmp_path_factory.mktemp("spark-demo")
    db = root / "patients.db"
    make_demo_db(db, n_patients=DEMO_PATIENTS, seed=0)
    engine = open_database(db)
    codes, _ = distinct_codes(engine, detect_schema(engine))
    keep = [Code(c.system, c.code) for c in codes][:-7]  # a few codes stay uncached: "code not in the embedding cache"
    cache = EmbeddingCache(engine)
    cache.ensure_table()
    cache.write(FINGERPRINT, [(c, f"text of {c}") for c in keep], random_vectors(keep))
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE cohort AS SELECT patient_id, index_date FROM demo_outcome")
    con.executemany("INSERT INTO cohort VALUES (?, ?)", [(5, "2019-06-01"), (7, None), (999_999, "2020-01-01"), (9, "not a date")])
    con.commit()
    con.close()
    parquet = export_parquet(db, root / "parquet", ("events", "patients", "vocabulary"))
    export_parquet(db, root / "extra", ("code_embeddings", "cohort"))
    return {"db": db, "parquet": parquet, "embeddings": root / "extra" / "code_embeddings.parquet",
            "cohort": root / "extra" / "cohort.parquet"}


@pytest.fixture(scope="session")
def demo_source(spark, demo):
    """The parquet demo tables read once (the readers infer each file's schema: about a second a time)."""
    from ehrfeat.spark.readers import read_source

    return read_source(spark, str(demo["parquet"]))


@pytest.fixture(scope="session")
def demo_embeddings(spark, demo):
    from ehrfeat.spark.code_table import load_code_embeddings

    return load_code_embeddings(spark, str(demo["embeddings"]))
