"""MEDS streaming: embed-codes and patient-vectors over a generated MEDS dataset, shard by shard.

    python benchmarks/meds_stream.py                         # 10M events, 100k subjects, 10 shards
    python benchmarks/meds_stream.py --events 200000 --subjects 2000 --shards 2

A MEDS dataset is generated (not timed) in a temporary folder, one shard at a time:
subjects contiguous and sorted by time as MEDS wants, codes drawn (Zipf-like) from a
pool of ICD-10-CM (``DIAGNOSIS//ICD//10//...``), ICD-9-CM, MIMIC-style lab items with
``codes.parquet`` descriptions and ``MEDICATION//START//...`` names, and a label table
with ``--times`` prediction times per subject. A fresh process then runs
``embed_meds_codes`` (a full pass counting every code, dictionary lookups, and the
encoder on the distinct codes: a tiny random BERT by default, ``--model`` for a real
one) and ``meds_patient_vectors`` (inclusive rule, mean weighting), and reports its
peak resident memory (``VmHWM`` of /proc/self/status: it includes Python, torch and library
imports; ru_maxrss would also count the generating parent, which Linux carries across exec).
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
T0 = np.datetime64("2012-01-01T00:00:00", "us").astype(np.int64)
SPAN_US = 10 * 365 * 86_400 * 1_000_000


def code_pool(n_codes: int, seed: int) -> tuple[list[str], dict[str, str]]:
    import simple_icd_10_cm as icd

    from ehrfeat.vocab.readers.icd9cm import read_icd9cm_descriptions

    rng = np.random.default_rng(seed)
    leaves = [c for c in icd.get_all_codes(with_dots=False) if icd.is_leaf(c)]
    icd9 = [c.replace(".", "") for c in read_icd9cm_descriptions()]
    n10, n9, nlab = int(n_codes * 0.6), int(n_codes * 0.2), int(n_codes * 0.1)
    codes = [f"DIAGNOSIS//ICD//10//{c}" for c in rng.choice(leaves, n10, replace=False)]
    codes += [f"DIAGNOSIS//ICD//9//{c}" for c in rng.choice(icd9, n9, replace=False)]
    labs = [f"LAB//{50000 + i}//mg/dL" for i in range(nlab)]
    codes += labs
    codes += [f"MEDICATION//START//drug number {i}" for i in range(n_codes - len(codes))]
    return codes, {c: f"laboratory test {i}" for i, c in enumerate(labs)}


def generate(root: Path, events: int, subjects: int, shards: int, n_codes: int, times: int, seed: int) -> dict[str, int]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ehrfeat.store.meds.write import write_label_table

    codes, descriptions = code_pool(n_codes, seed)
    dictionary = pa.array(codes, pa.string())
    (root / "data").mkdir(parents=True)
    (root / "metadata").mkdir()
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_codes + 1) ** 0.8
    weights /= weights.sum()
    per_shard = np.array_split(np.arange(1, subjects + 1), shards)
    label_sid, label_time = [], []
    total = 0
    for k, sids in enumerate(per_shard):
        n = events * len(sids) // subjects
        total += n
        sid = np.sort(rng.choice(sids, n))
        t = T0 + rng.integers(0, SPAN_US, n) // 60_000_000 * 60_000_000  # minute precision
        order = np.lexsort((t, sid))
        sid, t = sid[order], t[order]
        idx = rng.choice(n_codes, n, p=weights)
        table = pa.table({
            "subject_id": pa.array(sid, pa.int64()),
            "time": pa.array(t.astype("datetime64[us]"), pa.timestamp("us")),
            "code": dictionary.take(pa.array(idx)),
            "numeric_value": pa.nulls(n, pa.float32()),
        })
        pq.write_table(table, root / "data" / f"{k}.parquet", row_group_size=1_000_000)
        label_sid.append(np.repeat(sids, times))
        label_time.append(T0 + rng.integers(SPAN_US // 2, SPAN_US, len(sids) * times))
    pq.write_table(pa.table({"code": list(descriptions), "description": list(descriptions.values()),
                             "parent_codes": pa.nulls(len(descriptions), pa.list_(pa.string()))}),
                   root / "metadata" / "codes.parquet")
    sid_all, time_all = np.concatenate(label_sid), np.concatenate(label_time)
    write_label_table(root / "labels.parquet", sid_all, time_all.astype("datetime64[us]"),
                      boolean_value=(rng.random(len(sid_all)) < 0.2).tolist())
    return {"events": total, "label_rows": len(sid_all)}


def _peak_kb() -> int:
    """The peak resident set of this process since its exec (VmHWM), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(root: Path, model: str | None) -> dict[str, object]:
    from ehrfeat.embed_meds import embed_meds_codes
    from ehrfeat.models import load_encoder
    from ehrfeat.patients.meds_vectors import meds_patient_vectors

    if model is None:
        from ehrfeat.training.tiny_model import make_tiny_bert

        encoder = load_encoder(make_tiny_bert(Path(tempfile.mkdtemp()) / "tiny"))
    else:
        encoder = load_encoder(model)
    start = time.perf_counter()
    report = embed_meds_codes(root, encoder=encoder, batch_size=256)
    embed_s = time.perf_counter() - start
    start = time.perf_counter()
    vectors = meds_patient_vectors(root, labels=root / "labels.parquet")
    vectors_s = time.perf_counter() - start
    assert vectors.report is not None
    return {
        "rows_read": report.rows_read, "distinct_codes": report.codes_found, "embedded": report.embedded_now,
        "text_sources": report.text_sources, "embed_codes_s": round(embed_s, 2),
        "embed_codes_events_per_s": round(report.rows_read / embed_s),
        "prediction_rows": len(vectors), "dim": int(vectors.matrix.shape[1]), "patient_vectors_s": round(vectors_s, 2),
        "patient_vectors_events_per_s": round(vectors.report.events_read / vectors_s),
        "events_used": vectors.report.events_used,
        "peak_rss_mb": round(_peak_kb() / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--shards", type=int, default=10)
    parser.add_argument("--codes", type=int, default=5000, help="distinct codes in the pool")
    parser.add_argument("--times", type=int, default=3, help="prediction times per subject in the label table")
    parser.add_argument("--model", default=None, help="encoder (default: a tiny random BERT; the encoder is not what is measured)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--measure", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.model)))
        return
    with tempfile.TemporaryDirectory(prefix="meds-bench-") as tmp:
        root = Path(tmp) / "meds"
        start = time.perf_counter()
        made = generate(root, args.events, args.subjects, args.shards, args.codes, args.times, args.seed)
        generate_s = time.perf_counter() - start
        command = [sys.executable, __file__, "--measure", str(root), *(["--model", args.model] if args.model else [])]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-4000:])
        result = json.loads(done.stdout.strip().splitlines()[-1])
    total_s = result["embed_codes_s"] + result["patient_vectors_s"]
    line = {
        "benchmark": "meds_stream", "events": result["rows_read"], "subjects": args.subjects, "shards": args.shards,
        "label_rows": made["label_rows"], "generate_s": round(generate_s, 1), **result,
        "events_per_s": round(2 * result["rows_read"] / total_s),  # two passes over every event
        "under_2gb": result["peak_rss_mb"] < 2048,
    }
    print(json.dumps(line))


if __name__ == "__main__":
    main()
