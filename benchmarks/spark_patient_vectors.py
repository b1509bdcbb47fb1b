"""Patient vectors on Spark local[2] against the single-machine path, on generated parquet events.

    python benchmarks/spark_patient_vectors.py                                 # 5M and 20M events
    python benchmarks/spark_patient_vectors.py --events 20000,40000 --patients 500   # a quick check

For each size, events of the native schema are generated from a seed (patient_id,
ISO date, code_system, code; Zipf-like code frequencies; a fixed number of patients,
so patient vectors are the same size at every event count) as parquet parts, plus
the same events in a SQLite file for the single-machine path. Generating is not
timed. Each engine then runs in its own fresh process:

* spark: ``ehrfeat.spark.patient_vectors`` on ``local[2]`` (``--master``), written as a
  parquet folder (the vectors are never collected; nor are the events);
* local: ``ehrfeat.patients.patient_vectors`` on the SQLite file, written as parquet.

Both outputs are compared (max abs difference). Memory: the peak resident set of
the Python driver process (VmHWM, and sampled with psutil every 0.2 s while the
job runs) and, for Spark, of the driver JVM (VmHWM, and sampled; in local mode the
JVM also runs the tasks, so its heap is capped by ``--driver-memory``).
Prints one JSON line: per size, both times, events/s and peak driver memory, and
how much the Spark driver's memory grew from the smallest to the largest size.
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
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = np.array(["SYN_DX", "SYN_LAB", "SYN_RX"], dtype=object)
DAYS = np.arange("2010-01-01", "2024-12-31", dtype="datetime64[D]").astype(str).astype(object)
FINGERPRINT = "benchmark-random"


def generate(folder: Path, args: argparse.Namespace, n_events: int, sqlite: bool) -> None:
    """events/part-*.parquet, patients.parquet, code_embeddings.parquet (and patients.db when ``sqlite``)."""
    import pandas as pd

    (folder / "events").mkdir(parents=True)
    codes = np.array([f"C{i:06d}" for i in range(args.codes)], dtype=object)
    systems = SYSTEMS[np.arange(args.codes) % len(SYSTEMS)]
    p = 1.0 / np.arange(1, args.codes + 1) ** 0.8
    cdf = np.cumsum(p / p.sum())
    con = sqlite3.connect(folder / "patients.db") if sqlite else None
    if con is not None:
        con.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
                          "CREATE TABLE patients (patient_id INTEGER PRIMARY KEY, birth_date TEXT, sex TEXT);"
                          "CREATE TABLE events (patient_id INTEGER, time TEXT, code_system TEXT, code TEXT, value REAL);")
        con.executemany("INSERT INTO patients VALUES (?, NULL, NULL)", ((i,) for i in range(1, args.patients + 1)))
    for part, start in enumerate(range(0, n_events, args.chunk)):
        rng = np.random.default_rng([args.seed, start])
        n = min(args.chunk, n_events - start)
        idx = np.minimum(np.searchsorted(cdf, rng.random(n)), args.codes - 1)
        frame = pd.DataFrame({
            "patient_id": rng.integers(1, args.patients + 1, n, dtype=np.int64),
            "time": DAYS[rng.integers(0, len(DAYS), n)],
            "code_system": systems[idx], "code": codes[idx],
        })
        frame.to_parquet(folder / "events" / f"part-{part:05d}.parquet", index=False)
        if con is not None:
            con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, NULL)", frame.itertuples(index=False, name=None))
            con.commit()
    pd.DataFrame({"patient_id": np.arange(1, args.patients + 1, dtype=np.int64)}).to_parquet(folder / "patients.parquet")
    matrix = np.random.default_rng(args.seed).standard_normal((args.codes, args.dim)).astype("<f4")
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    pd.DataFrame({"fingerprint": FINGERPRINT, "code_system": systems, "code": codes, "text": codes, "dim": args.dim,
                  "vector": [row.tobytes() for row in matrix], "model": "random", "created_at": "2026-01-01"}
                 ).to_parquet(folder / "code_embeddings.parquet", index=False)
    if con is not None:
        con.close()
        from ehrfeat.codes import Code
        from ehrfeat.store.database import open_database
        from ehrfeat.store.embeddings import EmbeddingCache

        cache = EmbeddingCache(open_database(folder / "patients.db"))
        cache.ensure_table()
        cache.write(FINGERPRINT, [(Code(s, c), c) for s, c in zip(systems, codes, strict=True)], matrix)


class PeakSampler:
    """Samples the resident set of some processes every ``every`` seconds in a thread; keeps each one's peak (MB)."""

    def __init__(self, pids: dict[str, int], every: float = 0.2) -> None:
        self.pids, self.every = pids, every
        self.peaks = dict.fromkeys(pids, 0.0)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def _sample(self) -> None:
        self.samples += 1
        for name, pid in self.pids.items():
            rss = _rss_bytes(pid)
            if rss is not None:
                self.peaks[name] = max(self.peaks[name], round(rss / 2**20, 1))


def _rss_bytes(pid: int) -> int | None:
    try:
        import psutil

        return int(psutil.Process(pid).memory_info().rss)
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except Exception:  # the process ended
        return None
    return None


def run_spark(folder: Path, args: argparse.Namespace) -> dict[str, object]:
    from ehrfeat.spark.session import spark_session
    from ehrfeat.spark.vectors import patient_vectors

    spark = spark_session(args.master, conf={
        "spark.driver.memory": args.driver_memory, "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(args.partitions),
    })
    spark.sparkContext.setLogLevel("ERROR")
    jvm = spark.sparkContext._gateway.proc.pid
    with PeakSampler({"python": os.getpid(), "jvm": jvm}) as sampler:
        started = time.perf_counter()
        result = patient_vectors(spark, str(folder), str(folder / "code_embeddings.parquet"), as_of=args.as_of,
                                 weighting=args.weighting)
        result.write(folder / "spark_vectors.parquet")
        elapsed = time.perf_counter() - started
    jvm_kb = _vm_hwm_kb(jvm)
    result.release()
    spark.stop()
    return {"seconds": round(elapsed, 1), "events_read": result.report.events_read,
            "driver_python_peak_mb": _self_peak_mb(), "driver_python_sampled_peak_mb": sampler.peaks["python"],
            "driver_jvm_sampled_peak_mb": sampler.peaks["jvm"], "rss_samples": sampler.samples,
            "driver_jvm_peak_mb": round(jvm_kb / 1024, 1) if jvm_kb else None}


def run_local(folder: Path, args: argparse.Namespace) -> dict[str, object]:
    from ehrfeat.patients.output import write_vectors
    from ehrfeat.patients.vectors import patient_vectors

    started = time.perf_counter()
    vectors = patient_vectors(folder / "patients.db", as_of=args.as_of, weighting=args.weighting)
    write_vectors(vectors, folder / "local_vectors.parquet")
    elapsed = time.perf_counter() - started
    assert vectors.report is not None
    return {"seconds": round(elapsed, 1), "events_read": vectors.report.events_read, "peak_mb": _self_peak_mb(),
            "path": vectors.report.path}


def _self_peak_mb() -> float:
    """This process's own peak resident set since its exec (VmHWM). Not ru_maxrss: Linux carries
    the parent's peak across exec, so the generating parent's memory would leak into the figure."""
    kb = _vm_hwm_kb(os.getpid())
    return round((kb if kb else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024, 1)


def _vm_hwm_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def compare(folder: Path) -> float:
    import pandas as pd

    a = pd.read_parquet(folder / "spark_vectors.parquet").sort_values("patient_id").reset_index(drop=True)
    b = pd.read_parquet(folder / "local_vectors.parquet").sort_values("patient_id").reset_index(drop=True)
    if list(a["patient_id"]) != list(b["patient_id"]) or list(a.columns) != list(b.columns):
        return float("inf")
    cols = [c for c in a.columns if c.startswith("emb_")]
    return float(np.abs(a[cols].to_numpy() - b[cols].to_numpy()).max())


def child(engine: str, folder: Path, args: argparse.Namespace) -> dict[str, object]:
    """Run one engine in a fresh process (its own memory peak); returns its JSON result."""
    command = [sys.executable, __file__, "--child", engine, "--folder", str(folder), *sys.argv[1:]]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=args.timeout)
    if done.returncode != 0:
        raise SystemExit(f"{engine} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", default="5000000,20000000", help="comma-separated event counts (default 5M,20M)")
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--codes", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--chunk", type=int, default=1_000_000, help="events per generated parquet part")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", default="spark,local")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--partitions", type=int, default=8, help="spark.sql.shuffle.partitions")
    parser.add_argument("--as-of", default="2024-01-01")
    parser.add_argument("--weighting", default="mean")
    parser.add_argument("--workdir", type=Path, default=None, help="where to generate (default: a temporary folder)")
    parser.add_argument("--timeout", type=int, default=3600)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = run_spark(args.folder, args) if args.child == "spark" else run_local(args.folder, args)
        print(json.dumps(result))
        return
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    sizes = [int(s) for s in args.events.split(",")]
    out: dict[str, object] = {"benchmark": "spark_patient_vectors", "master": args.master, "patients": args.patients,
                              "codes": args.codes, "dim": args.dim, "weighting": args.weighting, "runs": []}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        for n in sizes:
            folder = Path(tmp) / f"events_{n}"
            started = time.perf_counter()
            generate(folder, args, n, sqlite="local" in engines)
            run: dict[str, object] = {"events": n, "generate_s": round(time.perf_counter() - started, 1)}
            for engine in engines:
                result = child(engine, folder, args)
                result["events_per_s"] = round(n / float(result["seconds"])) if result["seconds"] else None  # type: ignore[arg-type]
                run[engine] = result
            if {"spark", "local"} <= set(engines):
                run["max_abs_diff"] = compare(folder)
            out["runs"].append(run)  # type: ignore[attr-defined]
            subprocess.run(["rm", "-rf", str(folder)], check=False)
    runs = out["runs"]
    if "spark" in engines and len(runs) > 1:  # type: ignore[arg-type]
        first, last = runs[0]["spark"], runs[-1]["spark"]  # type: ignore[index]
        out["spark_driver_python_growth_mb"] = round(last["driver_python_peak_mb"] - first["driver_python_peak_mb"], 1)
        out["spark_driver_python_sampled_growth_mb"] = round(
            last["driver_python_sampled_peak_mb"] - first["driver_python_sampled_peak_mb"], 1)
        if first.get("driver_jvm_peak_mb") and last.get("driver_jvm_peak_mb"):
            out["spark_driver_jvm_growth_mb"] = round(last["driver_jvm_peak_mb"] - first["driver_jvm_peak_mb"], 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
