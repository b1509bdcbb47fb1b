"""Throughput of the same ICD-10-CM descriptions: sentence-transformers (torch) vs ehrfeat ONNX fp32 and int8.

Usage: python benchmarks/encode_throughput.py [--terms 20000] [--rounds 3] [--batch-size 64] [--model FOLDER]

Each round encodes all terms once with every backend, in interleaved order, so
machine noise hits all of them alike; terms/s is the median over rounds. Prints
one JSON line with terms/s and the ratios to sentence-transformers fp32. With
CUDA, sentence-transformers fp16 and ONNX fp16 are added. When the package ships
hiprbert-mini, its CPU variant derived on first use (``hiprbert_mini_cpu``) and
its shipped fp16 graph run on the CPU (``hiprbert_mini_fp16_cpu``) are added.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--model", default=None, help="exported ONNX folder (default: the bundled MiniLM export)")
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    from ehrfeat.models.loader import bundled_minilm_path, load_encoder
    from ehrfeat.onnx.parity import icd10cm_terms

    terms = icd10cm_terms(args.terms, seed=1)
    folder = Path(args.model) if args.model else load_encoder("minilm").folder  # type: ignore[attr-defined]
    threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    runners = {
        "st_torch_fp32": SentenceTransformer(str(bundled_minilm_path()), device="cpu"),
        "onnx_fp32": load_encoder(folder, variant="fp32", device="cpu"),
        "onnx_int8": load_encoder(folder, variant="int8", device="cpu"),
    }
    from ehrfeat.models import shipped_model_path

    if (shipped_model_path() / "ehrfeat_onnx.json").is_file():
        runners["hiprbert_mini_cpu"] = load_encoder("hiprbert-mini", device="cpu")
        runners["hiprbert_mini_fp16_cpu"] = load_encoder("hiprbert-mini", variant="fp16", device="cpu")
    if torch.cuda.is_available():
        runners["st_torch_fp16"] = SentenceTransformer(str(bundled_minilm_path()), device="cuda").half()
        try:
            runners["onnx_fp16"] = load_encoder(folder, variant="fp16", device="cuda")
        except Exception as exc:  # report why instead of silently skipping
            print(f"onnx fp16 on CUDA skipped: {exc}", file=sys.stderr)
    speeds: dict[str, list[float]] = {name: [] for name in runners}
    for model in runners.values():  # warm-up
        model.encode(terms[:256], batch_size=args.batch_size)
    for round_ in range(args.rounds):
        names = list(runners) if round_ % 2 == 0 else list(reversed(runners))
        for name in names:
            start = time.perf_counter()
            runners[name].encode(terms, batch_size=args.batch_size, normalize_embeddings=True)
            speeds[name].append(len(terms) / (time.perf_counter() - start))
            print(f"round {round_ + 1} {name}: {speeds[name][-1]:.1f} terms/s", file=sys.stderr, flush=True)
    tps = {name: round(statistics.median(v), 1) for name, v in speeds.items()}
    base = tps["st_torch_fp32"]
    result = {
        "benchmark": "encode_throughput",
        "terms": len(terms),
        "rounds": args.rounds,
        "batch_size": args.batch_size,
        "threads": threads,
        "terms_per_s": tps,
        "ratio_to_st_torch_fp32": {name: round(v / base, 2) for name, v in tps.items()},
    }
    if "st_torch_fp16" in tps and "onnx_fp16" in tps:
        result["onnx_fp16_vs_st_fp16"] = round(tps["onnx_fp16"] / tps["st_torch_fp16"], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
