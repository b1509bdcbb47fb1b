"""Patient vectors: ehrfeat's sparse weights x code matrix against a pandas groupby-mean, in one run.

    python benchmarks/patient_vectors.py                       # 10M events, 200k patients, dim 384
    python benchmarks/patient_vectors.py --events 1000000 --patients 20000

Input: both sides consume the *same* in-memory numpy event chunks (patient_id,
time, system, code; 200,000 events each), regenerated from a seed in each side's
own subprocess; generating them is not timed. ehrfeat: ``WeightAccumulator`` over
the chunks, then ``combine`` (mean weighting). Baseline: per chunk, look each
event's vector up through a pandas code->row map, ``DataFrame.groupby(patient).sum()``
and counts, accumulated into one array, divided at the end. The two results are
compared (max abs difference). Each side runs in a fresh process and reports its
peak resident memory (ru_maxrss, so it includes Python and library imports).

A second, smaller run goes end to end from a SQLite file of the native schema
(``patient_vectors(db)``: SQL reading, code and time parsing, weights, product).
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = np.array(["SYN_DX", "SYN_LAB", "SYN_RX"], dtype=object)  # local systems: codes kept as written
T0 = np.datetime64("2010-01-01T00:00:00", "s").astype(np.int64)
T1 = np.datetime64("2024-12-31T00:00:00", "s").astype(np.int64)


def code_pool(n_codes: int) -> tuple[np.ndarray, np.ndarray]:
    systems = SYSTEMS[np.arange(n_codes) % len(SYSTEMS)]
    codes = np.array([f"C{i:06d}" for i in range(n_codes)], dtype=object)
    return systems, codes


def code_matrix(n_codes: int, dim: int, seed: int) -> np.ndarray:
    m = np.random.default_rng(seed).standard_normal((n_codes, dim)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def chunks(args: argparse.Namespace):
    """The synthetic event chunks (Zipf-like code frequencies, patients in random order)."""
    from ehrfeat.store.records import EventChunk

    systems, codes = code_pool(args.codes)
    p = 1.0 / np.arange(1, args.codes + 1) ** 0.8
    cdf = np.cumsum(p / p.sum())
    for start in range(0, args.events, args.chunk):
        rng = np.random.default_rng([args.seed, start])
        n = min(args.chunk, args.events - start)
        idx = np.minimum(np.searchsorted(cdf, rng.random(n)), args.codes - 1)
        sys_ = systems[idx]
        yield EventChunk(
            patient_id=rng.integers(0, args.patients, n).astype(np.int64),
            time=rng.integers(T0, T1, n).astype("datetime64[s]"),
            system=sys_, code=codes[idx], value=np.full(n, np.nan), domain=sys_,
        )


def run_ehrfeat(args: argparse.Namespace) -> dict[str, float]:
    from ehrfeat.codes import Code
    from ehrfeat.patients.timing import NAT
    from ehrfeat.patients.vectors import combine
    from ehrfeat.patients.weights import CodeColumns, WeightAccumulator, WeightOptions

    systems, codes = code_pool(args.codes)
    e = code_matrix(args.codes, args.dim, args.seed)
    columns = CodeColumns([Code(s, c) for s, c in zip(systems.tolist(), codes.tolist(), strict=True)])
    ids = np.arange(args.patients, dtype=np.int64)
    acc = WeightAccumulator(ids, np.full(len(ids), NAT, np.int64), columns, WeightOptions("mean"), now_s=int(T1) + 86_400)
    spent = 0.0
    for chunk in chunks(args):
        t = time.perf_counter()
        acc.add(chunk)
        spent += time.perf_counter() - t
    t = time.perf_counter()
    matrix = combine(acc.finish(), e, "mean")
    spent += time.perf_counter() - t
    np.save(args.result, matrix)
    return {"seconds": spent}


def run_pandas(args: argparse.Namespace) -> dict[str, float]:
    import pandas as pd

    systems, codes = code_pool(args.codes)
    e = code_matrix(args.codes, args.dim, args.seed)
    row_of = pd.Series(np.arange(args.codes), index=pd.MultiIndex.from_arrays([systems, codes]))
    total = np.zeros((args.patients, args.dim), np.float64)
    count = np.zeros(args.patients, np.int64)
    spent = 0.0
    for chunk in chunks(args):
        t = time.perf_counter()
        rows = row_of.reindex(pd.MultiIndex.from_arrays([chunk.system, chunk.code])).to_numpy()
        frame = pd.DataFrame(e[rows])
        frame["patient_id"] = chunk.patient_id
        grouped = frame.groupby("patient_id")
        sums, sizes = grouped.sum(), grouped.size()
        total[sums.index.to_numpy()] += sums.to_numpy()
        count[sizes.index.to_numpy()] += sizes.to_numpy()
        spent += time.perf_counter() - t
    t = time.perf_counter()
    mean = (total / np.maximum(count, 1)[:, None]).astype(np.float32)
    spent += time.perf_counter() - t
    np.save(args.result, mean)
    return {"seconds": spent}


def run_sqlite(args: argparse.Namespace) -> dict[str, float]:
    import sqlite3

    from ehrfeat.codes import Code
    from ehrfeat.patients import patient_vectors
    from ehrfeat.store.database import open_database
    from ehrfeat.store.embeddings import EmbeddingCache

    db = Path(args.result).with_suffix(".db")
    con = sqlite3.connect(db)
    con.executescript("CREATE TABLE patients (patient_id INTEGER PRIMARY KEY);"
                      "CREATE TABLE events (patient_id INTEGER, time TEXT, code_system TEXT, code TEXT, value REAL);")
    con.executemany("INSERT INTO patients VALUES (?)", ((i,) for i in range(args.patients)))
    for c in chunks(args):
        day = c.time.astype("datetime64[D]").astype(str)
        con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, NULL)",
                        zip(c.patient_id.tolist(), day.tolist(), c.system.tolist(), c.code.tolist(), strict=True))
    con.commit()
    con.close()
    systems, codes = code_pool(args.codes)
    cache = EmbeddingCache(open_database(db))
    cache.ensure_table()
    items = [(Code(s, c), c) for s, c in zip(systems.tolist(), codes.tolist(), strict=True)]
    cache.write("bench", items, code_matrix(args.codes, args.dim, args.seed))
    t = time.perf_counter()
    vectors = patient_vectors(db)
    spent = time.perf_counter() - t
    assert vectors.report is not None
    return {"seconds": spent, "used": vectors.report.events_used, "skipped": sum(vectors.report.skipped.values())}


def child(args: argparse.Namespace) -> None:
    out = {"ehrfeat": run_ehrfeat, "pandas": run_pandas, "sqlite": run_sqlite}[args.side](args)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def spawn(side: str, args: argparse.Namespace, result: Path, **over: int) -> dict[str, float]:
    argv = [sys.executable, __file__, "--side", side, "--result", str(result)]
    for key in ("events", "patients", "codes", "dim", "chunk", "seed"):
        argv += [f"--{key}", str(over.get(key, getattr(args, key)))]
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{side} run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--codes", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--chunk", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sqlite-events", type=int, default=1_000_000, help="events of the end-to-end SQLite run (0: skip)")
    parser.add_argument("--side", choices=["ehrfeat", "pandas", "sqlite"], help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        ours = spawn("ehrfeat", args, Path(tmp) / "ehrfeat.npy")
        theirs = spawn("pandas", args, Path(tmp) / "pandas.npy")
        diff = float(np.abs(np.load(Path(tmp) / "ehrfeat.npy") - np.load(Path(tmp) / "pandas.npy")).max())
        line: dict[str, object] = {
            "benchmark": "patient_vectors",
            "input": "same in-memory numpy chunks for both sides (generation not timed)",
            "events": args.events, "patients": args.patients, "codes": args.codes, "dim": args.dim, "chunk": args.chunk,
            "ehrfeat_s": round(ours["seconds"], 2), "pandas_s": round(theirs["seconds"], 2),
            "speedup": round(theirs["seconds"] / ours["seconds"], 2),
            "ehrfeat_events_per_s": round(args.events / ours["seconds"]),
            "ehrfeat_peak_rss_mb": round(ours["peak_rss_mb"]), "pandas_peak_rss_mb": round(theirs["peak_rss_mb"]),
            "max_abs_diff": diff, "goal": "speedup >= 5, ehrfeat peak <= 2048 MB",
        }
        if args.sqlite_events:
            n_patients = max(1, args.patients * args.sqlite_events // args.events)
            e2e = spawn("sqlite", args, Path(tmp) / "e2e.npy", events=args.sqlite_events, patients=n_patients)
            line["sqlite_end_to_end"] = {
                "events": args.sqlite_events, "patients": n_patients, "seconds": round(e2e["seconds"], 2),
                "events_per_s": round(args.sqlite_events / e2e["seconds"]), "peak_rss_mb": round(e2e["peak_rss_mb"]),
                "events_used": e2e["used"], "events_skipped": e2e["skipped"],  # same-day repeats are duplicates
            }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
