"""embed-codes end to end on a 1M-event database, on SQLite and on PostgreSQL: codes/s and the share of time writing.

    python benchmarks/embed_codes_db.py                           # 1M events, 20k distinct codes, the default model
    python benchmarks/embed_codes_db.py --encoder hash            # the database side only (a hashing encoder)
    python benchmarks/embed_codes_db.py --postgresql-url postgresql+psycopg://user:pw@host/db   # an existing server

Builds a native-schema database of ``--events`` events over ``--codes`` distinct ICD-10-CM
codes (written in several raw forms: ``E11.9``, ``E119``, ``e11.9 ``) and ``--patients``
patients, once into a SQLite file and once into PostgreSQL (without ``--postgresql-url``, a
throw-away server started from ``tests/pg_server.py``, which needs Debian's postgresql
binaries), and not timed. Then, on each, ``embed_codes`` into an empty cache, timed:

* ``read_s``: finding the distinct codes (SQL ``GROUP BY``, merging raw forms) and their texts;
* ``encode_s``: the encoder; ``write_s``: the cache writes (COPY on PostgreSQL, one executemany on SQLite);
* ``codes_per_s``: codes embedded per second of the whole run; ``write_share``: ``write_s / total_s``.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class TimedEncoder:
    """Wraps an encoder and adds up the seconds spent encoding."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.seconds = inner, 0.0

    @property
    def fingerprint(self) -> str:
        return str(self.inner.fingerprint)

    @property
    def dim(self) -> int:
        return int(self.inner.dim)

    def encode(self, texts: Any, batch_size: int = 64, **kwargs: Any) -> np.ndarray:
        started = time.perf_counter()
        try:
            return np.asarray(self.inner.encode(texts, batch_size=batch_size, **kwargs))
        finally:
            self.seconds += time.perf_counter() - started


def _encoder(name: str) -> Any:
    if name == "hash":
        from tests.omop_data import HashEncoder

        return HashEncoder(384)
    from ehrfeat.models import load_encoder

    return load_encoder(None if name == "default" else name)


def _events(n_events: int, n_codes: int, n_patients: int, seed: int) -> tuple[list[tuple[Any, ...]], int]:
    import simple_icd_10_cm as icd

    rng = np.random.default_rng(seed)
    leaves = sorted(c for c in icd.get_all_codes(with_dots=True) if icd.is_leaf(c))
    pool = [leaves[i] for i in rng.choice(len(leaves), size=min(n_codes, len(leaves)), replace=False)]
    weights = 1.0 / np.arange(1, len(pool) + 1) ** 0.8  # a long tail, as real code usage has
    picks = rng.choice(len(pool), size=n_events, p=weights / weights.sum())
    patients = rng.integers(1, n_patients + 1, size=n_events)
    days = rng.integers(0, 5000, size=n_events)
    forms = rng.random(n_events)
    rows = []
    for pid, pick, day, form in zip(patients.tolist(), picks.tolist(), days.tolist(), forms.tolist(), strict=True):
        code = pool[pick]
        raw = code if form < 0.8 else code.replace(".", "") if form < 0.95 else f"{code.lower()} "
        rows.append((pid, str(np.datetime64("2010-01-01") + day), "ICD10CM", raw, None))
    return rows, len(set(picks.tolist()))


def _write(url: str, rows: list[tuple[Any, ...]], n_patients: int) -> None:
    import sqlalchemy as sa

    from ehrfeat.store import create_native_schema, open_database

    engine = open_database(url, must_exist=False)
    create_native_schema(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            raw = conn.connection.driver_connection
            with raw.cursor() as cur:  # type: ignore[union-attr]
                with cur.copy("COPY patients (patient_id) FROM STDIN") as copy:
                    for p in range(1, n_patients + 1):
                        copy.write_row((p,))
                with cur.copy("COPY events (patient_id, time, code_system, code, value) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            conn.exec_driver_sql("INSERT INTO patients (patient_id) VALUES (?)", [(p,) for p in range(1, n_patients + 1)])
            conn.exec_driver_sql("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
        conn.execute(sa.text("ANALYZE"))
    engine.dispose()


def _run(url: str, encoder: Any, batch_size: int) -> dict[str, Any]:
    from ehrfeat.embed import embed_codes

    timed = TimedEncoder(encoder)
    report = embed_codes(url, encoder=timed, batch_size=batch_size)  # type: ignore[arg-type]
    total, encode_write = report.elapsed_s, report.encode_s
    write = max(encode_write - timed.seconds, 0.0)
    return {
        "codes": report.codes_found, "embedded": report.embedded_now, "total_s": round(total, 2),
        "read_s": round(total - encode_write, 2), "encode_s": round(timed.seconds, 2), "write_s": round(write, 2),
        "codes_per_s": round(report.embedded_now / total, 1) if total else 0.0,
        "write_share": round(write / total, 4) if total else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--codes", type=int, default=20_000, help="distinct codes to draw events from")
    parser.add_argument("--patients", type=int, default=20_000)
    parser.add_argument("--encoder", default="default", help="default (the shipped model), hash, or a model folder")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--postgresql-url", default=None, help="an empty PostgreSQL database (else a throw-away server)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    started = time.perf_counter()
    rows, used = _events(args.events, args.codes, args.patients, args.seed)
    encoder = _encoder(args.encoder)
    server = None
    result: dict[str, Any] = {"benchmark": "embed_codes_db", "events": args.events, "distinct_codes_drawn": used,
                              "patients": args.patients, "encoder": args.encoder, "dim": int(encoder.dim),
                              "batch_size": args.batch_size}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            urls = {"sqlite": f"sqlite:///{Path(tmp) / 'bench.db'}"}
            if args.postgresql_url:
                urls["postgresql"] = args.postgresql_url
            else:
                from tests.pg_server import start_postgres

                server = start_postgres()
                urls["postgresql"] = server.url(server.create_database("bench"))
            build: dict[str, float] = {}
            for name, url in urls.items():
                t0 = time.perf_counter()
                _write(url, rows, args.patients)
                build[name] = round(time.perf_counter() - t0, 1)
            result["build_s"] = build
            del rows
            for name, url in urls.items():
                result[name] = _run(url, encoder, args.batch_size)
    finally:
        if server is not None:
            server.stop()
    result["wall_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
