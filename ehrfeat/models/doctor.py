"""``ehrfeat doctor``: what this machine will run, and how fast (torch is never imported)."""

from __future__ import annotations

import importlib.metadata
import platform
import time
from pathlib import Path
from typing import Any

from ehrfeat.onnx.cpu import cpu_flags
from ehrfeat.onnx.gpu import runtime_report

__all__ = ["BENCH_TERMS", "diagnose", "micro_benchmark"]

_PACKAGES = ("ehrfeat", "ehrfeat-gpu", "numpy", "onnxruntime", "onnxruntime-gpu", "tokenizers", "onnx", "optimum-onnx", "torch", "transformers", "sentence-transformers")

BENCH_TERMS = (
    "Type 2 diabetes mellitus without complications",
    "Essential (primary) hypertension",
    "Chronic obstructive pulmonary disease with (acute) exacerbation",
    "Major depressive disorder, single episode, unspecified",
    "Acute ST elevation (STEMI) myocardial infarction of anterior wall",
    "Chronic kidney disease, stage 3 unspecified",
    "Pneumonia, unspecified organism",
    "Heart failure, unspecified",
)


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def micro_benchmark(encoder: Any, seconds: float = 2.0, batch_size: int = 64) -> dict[str, float]:
    """Terms/s of ``encoder`` on distinct short clinical terms for about ``seconds``."""
    encoder.encode(list(BENCH_TERMS))  # warm-up
    done, round_ = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        batch = [f"{t} {round_}-{i}" for i in range(batch_size // len(BENCH_TERMS) + 1) for t in BENCH_TERMS]
        encoder.encode(batch, batch_size=batch_size)
        done += len(batch)
        round_ += 1
    elapsed = time.perf_counter() - start
    return {"terms": done, "seconds": round(elapsed, 2), "terms_per_s": round(done / elapsed, 1)}


def diagnose(model: str | Path | None = None, *, device: str | None = None, seconds: float = 2.0) -> dict[str, Any]:
    """The runtime (which onnxruntime, its providers, whether and why a GPU is used), versions, CPU flags,
    the variant that loads and a micro-benchmark."""
    from ehrfeat.models.loader import load_encoder

    report: dict[str, Any] = {
        "versions": _versions(),
        "platform": platform.platform(),
        "cpu_flags": cpu_flags(),
    }
    try:
        encoder = load_encoder(model, backend="onnx" if model is None else "auto", device=device)
    except Exception as exc:  # reported, not raised: doctor must always print its findings
        report["runtime"] = runtime_report(device, None)
        report["encoder"] = {"error": str(exc)}
        return report
    describe = getattr(encoder, "describe", None)
    report["encoder"] = describe() if describe else {"class": type(encoder).__name__, "fingerprint": encoder.fingerprint}
    report["runtime"] = runtime_report(device, report["encoder"].get("provider"))
    report["benchmark"] = micro_benchmark(encoder, seconds)
    return {key: report[key] for key in ("runtime", *report) if key in report}  # the runtime first
