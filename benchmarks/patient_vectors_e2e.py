"""Patient vectors end to end, from the database file: ehrfeat against the script a data scientist would write.

    python benchmarks/patient_vectors_e2e.py                              # 1M and 10M events, SQLite and DuckDB
    python benchmarks/patient_vectors_e2e.py --sizes 200000 --engines sqlite,duckdb,postgresql
    python benchmarks/patient_vectors_e2e.py --keep /tmp/pv_e2e                # reuse the databases of an earlier run

For each size and engine one native-schema database is generated (not timed): 20
events per patient, Zipf-like codes of three local systems, ISO dates (diagnoses,
drugs) and ISO date-times (labs) as text, a vocabulary table, and the code
vectors already cached in ``code_embeddings``. Then, each in a fresh process:

* ``ehrfeat``: ``patient_vectors(db, weighting="mean")`` (the database path; on
  SQLite also with its index, created beforehand with ``create_indexes=True``);
* ``peer``: the 15-line script of issue 19: ``pandas.read_sql`` of the events
  (a DuckDB file through SQLAlchemy's duckdb-engine, as the issue's script does), join to the code vectors and count (patient, code) pairs
  in DuckDB, one scipy sparse product, divide by the counts;
* discovery (``--discovery``, the largest size): ``embed-codes``' distinct codes with
  event and patient counts and texts, ehrfeat's ``distinct_codes`` against the same
  GROUP BY in a pandas + DuckDB script.

Seconds are wall time of the work inside the process (imports excluded), ``cpu_s``
the process's CPU and its reader processes' (imports included; on a shared machine compare ``cpu_speedup``),
peak memory the process's own VmHWM (plus, with SQLite's reader processes, an upper bound
for them: their number times the largest one's peak). Prints one JSON line. PostgreSQL runs when
``--engines`` names it: a throw-away server (initdb in a temporary folder, 127.0.0.1, stopped at
the end; ``tests/pg_server.py``) is started from Debian's binaries; there ``server_cpu_s`` is the
server's CPU during each run (its backends, reaped by the postmaster) and ``cpu_s_with_server`` the sum.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = ("SYN_DX", "SYN_LAB", "SYN_RX")
T0, T1 = np.datetime64("2010-01-01T00:00:00", "s").astype(np.int64), np.datetime64("2024-12-31", "s").astype(np.int64)
BLOCK = 500_000


def event_blocks(n: int, n_codes: int, seed: int):
    """(patient_id, time text, system, code) arrays in blocks; labs carry a time of day."""
    p = 1.0 / np.arange(1, n_codes + 1) ** 0.8
    cdf = np.cumsum(p / p.sum())
    codes = np.array([f"C{i:06d}" for i in range(n_codes)], dtype=object)
    systems = np.array(SYSTEMS, dtype=object)
    for start in range(0, n, BLOCK):
        rng = np.random.default_rng([seed, start])
        m = min(BLOCK, n - start)
        idx = np.minimum(np.searchsorted(cdf, rng.random(m)), n_codes - 1)
        stamp = rng.integers(T0, T1, m).astype("datetime64[s]")
        sys_ = systems[idx % 3]
        text = np.where(sys_ == "SYN_LAB", np.char.replace(np.datetime_as_string(stamp), "T", " "),
                        np.datetime_as_string(stamp.astype("datetime64[D]")))
        yield rng.integers(0, max(1, n // 20), m), text.astype(object), sys_, codes[idx]


def code_table(n_codes: int, dim: int, seed: int) -> tuple[list[tuple[str, str]], np.ndarray]:
    m = np.random.default_rng(seed).standard_normal((n_codes, dim)).astype(np.float32)
    return [(SYSTEMS[i % 3], f"C{i:06d}") for i in range(n_codes)], m / np.linalg.norm(m, axis=1, keepdims=True)


def make_sqlite(path: Path, args: argparse.Namespace, n: int) -> str:
    con = sqlite3.connect(path)
    con.executescript("CREATE TABLE patients (patient_id INTEGER PRIMARY KEY, birth_date TEXT, sex TEXT);"
                      "CREATE TABLE events (patient_id INTEGER, time TEXT, code_system TEXT, code TEXT, value REAL);"
                      "CREATE TABLE vocabulary (code_system TEXT, code TEXT, description TEXT);")
    con.executemany("INSERT INTO patients VALUES (?, NULL, NULL)", ((i,) for i in range(max(1, n // 20))))
    for pid, text, sys_, code in event_blocks(n, args.codes, args.seed):
        con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, NULL)",
                        zip(pid.tolist(), text.tolist(), sys_.tolist(), code.tolist(), strict=True))
    pairs, _ = code_table(args.codes, args.dim, args.seed)
    con.executemany("INSERT INTO vocabulary VALUES (?, ?, ?)", [(s, c, f"synthetic concept {c}") for s, c in pairs])
    con.commit()
    con.close()
    _cache(str(path), args)
    return str(path)


def _cache(url: str, args: argparse.Namespace) -> None:
    from ehrfeat.codes import Code
    from ehrfeat.store.database import open_database
    from ehrfeat.store.embeddings import EmbeddingCache

    pairs, matrix = code_table(args.codes, args.dim, args.seed)
    engine = open_database(url)
    cache = EmbeddingCache(engine)
    cache.ensure_table()
    cache.write("bench", [(Code(s, c), f"synthetic concept {c}") for s, c in pairs], matrix)
    engine.dispose()  # DuckDB: release the file lock before the timed processes open it


def make_duckdb(path: Path, args: argparse.Namespace, n: int) -> str:
    import duckdb
    import pandas as pd

    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE patients (patient_id BIGINT, birth_date VARCHAR, sex VARCHAR)")
    con.execute("INSERT INTO patients SELECT range, NULL, NULL FROM range(?)", [max(1, n // 20)])
    con.execute("CREATE TABLE events (patient_id BIGINT, time VARCHAR, code_system VARCHAR, code VARCHAR, value DOUBLE)")
    for pid, text, sys_, code in event_blocks(n, args.codes, args.seed):
        frame = pd.DataFrame({"patient_id": pid, "time": text, "code_system": sys_, "code": code})  # noqa: F841
        con.execute("INSERT INTO events SELECT patient_id, time, code_system, code, NULL FROM frame")
    pairs, _ = code_table(args.codes, args.dim, args.seed)
    voc = pd.DataFrame({"code_system": [s for s, _ in pairs], "code": [c for _, c in pairs]})  # noqa: F841
    con.execute("CREATE TABLE vocabulary AS SELECT code_system, code, 'synthetic concept ' || code AS description FROM voc")
    con.close()
    url = f"duckdb:///{path}"
    _cache(url, args)
    return url


def run_ehrfeat(args: argparse.Namespace) -> dict[str, object]:
    from ehrfeat.patients import patient_vectors

    if args.indexed:  # consent given beforehand: the index exists when the timed run starts
        t = time.perf_counter()
        made = patient_vectors(args.db, create_indexes=True)
        index_s = time.perf_counter() - t
    t = time.perf_counter()
    vectors = patient_vectors(args.db, weighting="mean", aggregate=args.aggregate)
    spent = time.perf_counter() - t
    np.save(args.result, vectors.matrix)
    assert vectors.report is not None
    out: dict[str, object] = {"seconds": spent, "path": vectors.report.path, "events_used": vectors.report.events_used}
    if args.indexed:
        out["first_run_with_index_creation_s"] = round(index_s, 2)
        out["notes"] = list(made.report.notes) if made.report else []
    return out


def run_peer(args: argparse.Namespace) -> dict[str, object]:
    """The peer script: 15 lines a data scientist would write (timed from the first read to the matrix)."""
    import duckdb
    import pandas as pd
    import scipy.sparse as sp

    t = time.perf_counter()
    con = sqlite3.connect(args.db) if "://" not in args.db else args.db  # DuckDB: through SQLAlchemy (duckdb-engine)
    events = pd.read_sql("SELECT patient_id, code_system, code FROM events", con)  # noqa: F841
    emb = pd.read_sql("SELECT code_system, code, vector FROM code_embeddings", con)
    emb["row"] = np.arange(len(emb))
    pats = pd.read_sql("SELECT patient_id FROM patients ORDER BY 1", con).patient_id.to_numpy()
    pairs = duckdb.sql("SELECT e.patient_id, c.row, count(*) AS n FROM events e JOIN emb c USING (code_system, code) GROUP BY ALL").df()
    e = np.stack([np.frombuffer(v, np.float32) for v in emb.sort_values("row").vector])
    w = sp.csr_matrix((pairs.n.to_numpy(np.float32), (np.searchsorted(pats, pairs.patient_id), pairs.row)), shape=(len(pats), len(e)))
    matrix = np.asarray(w @ e) / np.maximum(np.asarray(w.sum(axis=1)), 1)
    spent = time.perf_counter() - t
    np.save(args.result, matrix.astype(np.float32))
    return {"seconds": spent, "events_used": int(pairs.n.sum())}


def run_discovery(args: argparse.Namespace) -> dict[str, object]:
    t = time.perf_counter()
    if args.side == "discovery-ehrfeat":
        from ehrfeat.store import open_database
        from ehrfeat.store.events import distinct_codes
        from ehrfeat.store.schema import detect_schema

        engine = open_database(args.db)
        codes, _ = distinct_codes(engine, detect_schema(engine))
        n, texts = len(codes), sum(1 for c in codes if c.text)
    else:
        import duckdb
        import pandas as pd

        con = sqlite3.connect(args.db) if "://" not in args.db else args.db
        events = pd.read_sql("SELECT patient_id, code_system, code FROM events", con)  # noqa: F841
        voc = pd.read_sql("SELECT * FROM vocabulary", con)  # noqa: F841
        rows = duckdb.sql("SELECT e.code_system, e.code, count(*) AS n, count(DISTINCT patient_id) AS p, any_value(v.description) "
                          "FROM events e LEFT JOIN voc v USING (code_system, code) GROUP BY ALL").df()
        n, texts = len(rows), int(rows.iloc[:, 4].notna().sum())
    return {"seconds": time.perf_counter() - t, "codes": n, "texts": texts}


def child(args: argparse.Namespace) -> None:
    if args.side.startswith("discovery"):
        out = run_discovery(args)
    else:
        out = {"ehrfeat": run_ehrfeat, "peer": run_peer}[args.side](args)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # reader processes (SQLite), joined by now
    from ehrfeat.store.sqlite_workers import WORKERS

    # Upper bound with reader processes: this process's peak plus WORKERS times the largest child's
    # (a forked child's peak also counts the pages it shares with this process).
    out["peak_rss_mb"] = (_peak_mb() or usage.ru_maxrss / 1024) + (WORKERS * kids.ru_maxrss / 1024 if kids.ru_maxrss else 0)
    out["cpu_s"] = usage.ru_utime + usage.ru_stime + kids.ru_utime + kids.ru_stime  # imports and reader processes included
    print(json.dumps(out))


def _peak_mb() -> float | None:
    """This process's own peak RSS: Linux keeps ru_maxrss across exec (the parent's peak would leak in), not VmHWM."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _spawn(side: str, db: str, result: Path, indexed: bool = False, aggregate: str = "auto") -> dict[str, object]:
    argv = [sys.executable, __file__, "--side", side, "--db", db, "--result", str(result), "--aggregate", aggregate]
    argv += ["--indexed"] if indexed else []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False, env=env)
    if proc.returncode != 0:  # recorded, not fatal: the other sides and engines still run
        last = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        return {"error": (last[-1] if last else f"exit {proc.returncode}")[:300]}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_s"] = time.perf_counter() - t
    return out


def _summary(n: int, run: dict[str, object]) -> dict[str, object]:
    seconds = float(run["seconds"])  # type: ignore[arg-type]
    out = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in run.items()}
    out["events_per_s"] = round(n / seconds)
    return out


ROUNDS = 1  # --rounds: ehrfeat and the peer run one after the other this many times; the median round counts


def _warm_file_cache(db: str) -> None:
    """Read a SQLite or DuckDB file once, untimed: whichever side runs first would otherwise pay for the disk."""
    path = Path(db.removeprefix("duckdb:///"))
    if path.is_file():
        with path.open("rb") as f:
            while f.read(1 << 24):
                pass


def _rounds(run: Callable[[], dict[str, dict[str, object]]]) -> dict[str, dict[str, object]]:
    """Each side's median run (by seconds) over ROUNDS alternating rounds; every round's seconds are kept."""
    rounds = [run() for _ in range(ROUNDS)]
    if len(rounds) == 1:
        return rounds[0]
    out: dict[str, dict[str, object]] = {}
    for side in rounds[0]:
        done = [r[side] for r in rounds if "error" not in r[side]]
        if not done:
            out[side] = rounds[0][side]
            continue
        done.sort(key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
        out[side] = {**done[len(done) // 2], "seconds_rounds": [round(float(r["seconds"]), 2) for r in done]}  # type: ignore[arg-type]
    return out


def compare(n: int, engine: str, db: str, tmp: Path, discovery: bool, server: object = None) -> dict[str, object]:
    def spawn(side: str, db: str, result: Path, indexed: bool = False, aggregate: str = "auto") -> dict[str, object]:
        before = _server_cpu(server)
        out = _spawn(side, db, result, indexed, aggregate)
        if before is not None and "error" not in out:  # PostgreSQL: the server's share of the work, and the sum
            out["server_cpu_s"] = (_server_cpu(server) or 0.0) - before
            out["cpu_s_with_server"] = float(out["cpu_s"]) + out["server_cpu_s"]  # type: ignore[arg-type]
        return out

    _warm_file_cache(db)
    runs = _rounds(lambda: {"ehrfeat": spawn("ehrfeat", db, tmp / "ehrfeat.npy"), "peer": spawn("peer", db, tmp / "peer.npy")})
    if engine == "sqlite":
        runs["ehrfeat_indexed"] = spawn("ehrfeat", db, tmp / "indexed.npy", indexed=True)
    else:  # the (patient, code) counts computed by the engine (--aggregate counts), one round
        runs["ehrfeat_counts"] = spawn("ehrfeat", db, tmp / "counts.npy", aggregate="counts")
    out: dict[str, object] = {name: run if "error" in run else _summary(n, run) for name, run in runs.items()}
    if "error" not in runs.get("ehrfeat_counts", {"error": 1}) and "error" not in runs["ehrfeat"]:
        out["max_abs_diff_counts_vs_database"] = float(np.abs(np.load(tmp / "counts.npy") - np.load(tmp / "ehrfeat.npy")).max())
    for name in ("ehrfeat", "ehrfeat_indexed", "ehrfeat_counts"):
        if name in runs and "error" not in runs[name] and "error" not in runs["peer"]:
            out[f"speedup_{name}_vs_peer"] = _ratio(runs["peer"], runs[name], "seconds")
            out[f"memory_{name}_over_peer"] = _ratio(runs[name], runs["peer"], "peak_rss_mb")
            out[f"cpu_speedup_{name}_vs_peer"] = _ratio(runs["peer"], runs[name], "cpu_s")  # a shared machine: CPU, not wall
            if "cpu_s_with_server" in runs[name]:
                out[f"cpu_with_server_speedup_{name}_vs_peer"] = _ratio(runs["peer"], runs[name], "cpu_s_with_server")
    if "error" not in runs["ehrfeat"] and "error" not in runs["peer"]:
        # the peer keeps same-day duplicates and events dated after the run; ehrfeat does not
        out["max_abs_diff_vs_peer"] = float(np.abs(np.load(tmp / "ehrfeat.npy") - np.load(tmp / "peer.npy")).max())
    if discovery:
        ours, theirs = spawn("discovery-ehrfeat", db, tmp / "d.npy"), spawn("discovery-peer", db, tmp / "d.npy")
        found: dict[str, object] = {"ehrfeat": ours if "error" in ours else _summary(n, ours),
                                    "peer": theirs if "error" in theirs else _summary(n, theirs)}
        if "error" not in ours and "error" not in theirs:
            found["speedup_vs_peer"] = _ratio(theirs, ours, "seconds")
            found["cpu_speedup_vs_peer"] = _ratio(theirs, ours, "cpu_s")
        out["embed_codes_discovery"] = found
    if engine == "sqlite":  # discovery above used the index made with consent; a kept database starts without it
        with sqlite3.connect(db) as con:
            con.execute("DROP INDEX IF EXISTS ehrfeat_events_code")
    return out


def _server_cpu(server: object) -> float | None:
    """CPU seconds of the PostgreSQL server so far: the postmaster and its finished children (the backends of
    finished runs, reaped by it); ``None`` without a server."""
    if server is None:
        return None
    time.sleep(0.5)  # the last run's backends exit and are reaped
    pid = int((server.root / "data" / "postmaster.pid").read_text().split()[0])  # type: ignore[attr-defined]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime, stime, cutime, cstime


def _ratio(a: dict[str, object], b: dict[str, object], key: str) -> float:
    return round(float(a[key]) / float(b[key]), 2)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated event counts")
    parser.add_argument("--engines", default="sqlite,duckdb", help="sqlite, duckdb, postgresql")
    parser.add_argument("--codes", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--discovery", action=argparse.BooleanOptionalAction, default=True,
                        help="also compare embed-codes discovery at the largest size")
    parser.add_argument("--rounds", type=int, default=1, help="run ehrfeat and the peer this many times, alternating; report each side's median")
    parser.add_argument("--keep", type=Path, help="keep the generated databases in this folder and reuse them (SQLite, DuckDB)")
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--indexed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--aggregate", default="auto", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global ROUNDS
    ROUNDS = max(1, args.rounds)
    if args.side:
        child(args)
        return
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    line: dict[str, object] = {"benchmark": "patient_vectors_e2e", "rounds": ROUNDS, "weighting": "mean", "codes": args.codes, "dim": args.dim,
                               "events_per_patient": 20, "cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        server = _postgres(tmp) if "postgresql" in engines else None
        try:
            for n in sizes:
                for engine in engines:
                    t = time.perf_counter()
                    db = _make(engine, (args.keep or tmp) / f"{engine}_{n}", args, n, server)
                    result = compare(n, engine, db, tmp, args.discovery and n == max(sizes), server if engine == "postgresql" else None)
                    result["generate_s"] = round(time.perf_counter() - t, 1)
                    line[f"{engine}_{n}"] = result
                    print(json.dumps({f"{engine}_{n}": result}), file=sys.stderr, flush=True)  # progress
        finally:
            if server is not None:
                server.stop()
    print(json.dumps(line))


def _make(engine: str, base: Path, args: argparse.Namespace, n: int, server: object) -> str:
    kept = base.with_suffix({"sqlite": ".db", "duckdb": ".duckdb"}.get(engine, ".none"))
    if args.keep and kept.exists():  # made by an earlier run with --keep: the same generator, not timed either
        return str(kept) if engine == "sqlite" else f"duckdb:///{kept}"
    if engine == "sqlite":
        return make_sqlite(base.with_suffix(".db"), args, n)
    if engine == "duckdb":
        return make_duckdb(base.with_suffix(".duckdb"), args, n)
    if engine == "postgresql":
        return _make_postgres(server, base.name, args, n)
    raise SystemExit(f"unknown engine {engine!r}: use sqlite, duckdb or postgresql")


def _postgres(tmp: Path) -> object:
    sys.path.insert(0, str(ROOT))
    from tests.pg_server import start_postgres  # the test suite's throw-away server

    return start_postgres()


def _make_postgres(server: object, name: str, args: argparse.Namespace, n: int) -> str:
    import sqlalchemy as sa

    url = server.url(server.create_database("bench"))  # type: ignore[attr-defined]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE patients (patient_id BIGINT PRIMARY KEY, birth_date TEXT, sex TEXT)")
        conn.exec_driver_sql("CREATE TABLE events (patient_id BIGINT, time TEXT, code_system TEXT, code TEXT, value DOUBLE PRECISION)")
        conn.exec_driver_sql("CREATE TABLE vocabulary (code_system TEXT, code TEXT, description TEXT)")
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cur:  # type: ignore[union-attr]
            cur.execute("INSERT INTO patients SELECT g, NULL, NULL FROM generate_series(0, %s) g", (max(1, n // 20) - 1,))
            with cur.copy("COPY events (patient_id, time, code_system, code) FROM STDIN") as copy:
                for pid, text, sys_, code in event_blocks(n, args.codes, args.seed):
                    for row in zip(pid.tolist(), text.tolist(), sys_.tolist(), code.tolist(), strict=True):
                        copy.write_row(row)
            pairs, _ = code_table(args.codes, args.dim, args.seed)
            cur.executemany("INSERT INTO vocabulary VALUES (%s, %s, %s)", [(s, c, f"synthetic concept {c}") for s, c in pairs])
    _cache(url, args)
    with server.connect(url.rsplit("/", 1)[1]) as conn:  # type: ignore[attr-defined]
        conn.execute("VACUUM ANALYZE")  # hint bits and statistics now, not in the first timed run
    return str(url)


if __name__ == "__main__":
    main()
