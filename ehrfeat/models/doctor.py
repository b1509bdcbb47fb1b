"""``ehrfeat doctor``: what this machine will run, and how fast (torch is never imported)."""

from __future__ import annotations

import importlib.metadata
import platform
import time
from pathlib import Path
from typing import Any

from ehrfeat.errors import ModelError
from ehrfeat.onnx.cpu import cpu_flags, int8_target
from ehrfeat.onnx.gpu import runtime_report
from ehrfeat.paths import cache_dir

__all__ = ["BENCH_TERMS", "cache_report", "diagnose", "micro_benchmark"]

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


def _megabytes(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20, 1)


def cache_report(in_use: Path | None = None) -> dict[str, Any]:
    """The exported and derived models in ehrfeat's cache, with their size, and which one ``in_use`` is.

    A folder is named for what it was built from (model, fp16 graph, max length, int8
    ladder, layout), so a new ehrfeat or another CPU builds a new one beside the old;
    any folder can be deleted, it is rebuilt when next needed. Nothing is deleted here.
    """
    root = cache_dir() / "onnx"
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else []
    used = in_use.resolve() if in_use is not None else None
    sizes = {p: _megabytes(p) for p in folders}
    models = [{"name": p.name, "megabytes": mb, "used_by_this_encoder": p.resolve() == used} for p, mb in sizes.items()]
    return {"folder": str(root), "megabytes": round(sum(sizes.values()), 1), "models": models}


def _check_request(model: str | Path | None, device: str | None) -> None:
    """Refuse an unknown device and a model path that does not exist, before anything is measured."""
    from ehrfeat.encoders.transformer import looks_like_path
    from ehrfeat.models.hub import hub_access
    from ehrfeat.models.loader import model_alias
    from ehrfeat.onnx.providers import DEVICES

    if device is not None and device not in DEVICES:
        raise ModelError(f"unknown device {device!r} (--device)", fix=f"use one of {', '.join(DEVICES)}", code="E320")
    name = str(model) if model is not None else None
    if name is not None and looks_like_path(name) and not Path(name).expanduser().is_dir():
        what = "is a file, not a model folder" if Path(name).expanduser().exists() else "does not exist"
        raise ModelError(f"model folder {name!r} {what} (--model)",
                         fix="pass a model folder (ehrfeat export or a sentence-transformers folder), a hub id, or minilm",
                         code="E305")
    if name is not None and not looks_like_path(name) and model_alias(name) is None:
        hub_access(name)  # a hub id while offline: said at once (exit 2)


def diagnose(model: str | Path | None = None, *, device: str | None = None, seconds: float = 2.0) -> dict[str, Any]:
    """The runtime (which onnxruntime, its providers, whether and why a GPU is used), versions, CPU flags,
    the variant that loads and a micro-benchmark."""
    from ehrfeat.models.loader import load_encoder

    _check_request(model, device)  # a wrong name is the user's error (exit 2), not a finding to report
    report: dict[str, Any] = {
        "versions": _versions(),
        "platform": platform.platform(),
        "cpu_flags": cpu_flags(),
        "int8_target": int8_target(),  # the int8 kernels this CPU runs (VNNI or not decides most of the int8 speed)
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
    folder = getattr(encoder, "folder", None)
    report["cache"] = cache_report(Path(folder) if folder is not None else None)
    return {key: report[key] for key in ("runtime", *report) if key in report}  # the runtime first
