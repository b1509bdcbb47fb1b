"""Which onnxruntime is installed, and why a GPU is or is not used (for ``ehrfeat doctor``).

``onnxruntime`` (CPU) and ``onnxruntime-gpu`` install the same ``onnxruntime``
module and must never share an environment: ``pip install ehrfeat`` brings the
first, ``pip install ehrfeat-gpu`` (the GPU distribution, same code) the second.
:func:`gpu_verdict` is a pure function of what was found, so every branch is tested.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
from dataclasses import asdict, dataclass
from typing import Any

from ehrfeat.onnx.providers import CPU, CUDA, TENSORRT, available_providers, missing_gpu_libraries

__all__ = ["RUNTIME_DISTRIBUTIONS", "GpuVerdict", "gpu_verdict", "installed_runtimes", "nvidia_driver_found", "runtime_report"]

RUNTIME_DISTRIBUTIONS = ("onnxruntime", "onnxruntime-gpu")
SWAP_TO_GPU = "pip uninstall -y ehrfeat onnxruntime && pip install ehrfeat-gpu"
SWAP_TO_CPU = "pip uninstall -y ehrfeat onnxruntime onnxruntime-gpu && pip install ehrfeat"


@dataclass(frozen=True)
class GpuVerdict:
    """Whether the encoder runs on a GPU and the reason, in words a user can act on."""

    used: bool
    reason: str


def installed_runtimes() -> dict[str, str | None]:
    """The version of each onnxruntime distribution installed here (None when absent)."""
    found: dict[str, str | None] = {}
    for name in RUNTIME_DISTRIBUTIONS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def nvidia_driver_found() -> bool:
    """Whether the NVIDIA driver library (``libcuda.so.1``) loads: a GPU this process could use."""
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def gpu_verdict(
    *,
    runtimes: dict[str, str | None],
    providers: list[str],
    missing_libraries: dict[str, list[str]],
    driver: bool,
    device: str | None,
    provider_used: str | None,
) -> GpuVerdict:
    """Why the encoder does or does not run on a GPU, from what :func:`runtime_report` found."""
    if runtimes.get("onnxruntime") and runtimes.get("onnxruntime-gpu"):
        return GpuVerdict(
            False,
            "onnxruntime and onnxruntime-gpu are both installed; they overwrite each other's files, so which one "
            f"runs is an accident: keep one ({SWAP_TO_CPU}, or {SWAP_TO_GPU})",
        )
    if provider_used in (CUDA, TENSORRT):
        return GpuVerdict(True, f"onnxruntime-gpu loaded {provider_used} with its libraries and the NVIDIA driver")
    if device == "cpu":
        return GpuVerdict(False, "--device cpu was asked for")
    if CUDA not in providers:
        if driver:
            return GpuVerdict(
                False, f"an NVIDIA driver is present but this onnxruntime build is CPU-only: {SWAP_TO_GPU}"
            )
        return GpuVerdict(False, "this onnxruntime build is CPU-only (the ehrfeat distribution) and no NVIDIA driver was found")
    if not driver:
        return GpuVerdict(False, "onnxruntime-gpu is installed but no NVIDIA driver (libcuda.so.1) was found: no GPU here")
    if missing_libraries.get(CUDA):
        return GpuVerdict(
            False,
            f"onnxruntime-gpu cannot load CUDAExecutionProvider: libraries not found: {', '.join(missing_libraries[CUDA])} "
            "(install CUDA 12 and cuDNN 9, e.g. pip install nvidia-cudnn-cu12 nvidia-cublas-cu12, and put them on LD_LIBRARY_PATH)",
        )
    if provider_used == CPU:
        return GpuVerdict(False, "CUDAExecutionProvider is available but the session ran on the CPU")
    return GpuVerdict(False, "the encoder did not load, so no session ran (see encoder.error)")


def runtime_report(device: str | None, provider_used: str | None) -> dict[str, Any]:
    """Runtime distributions, providers, the NVIDIA driver, and the GPU verdict for ``ehrfeat doctor``."""
    runtimes = installed_runtimes()
    providers = available_providers()
    missing = {p: missing_gpu_libraries(p) for p in (CUDA, TENSORRT) if p in providers}
    driver = nvidia_driver_found()
    installed = [name for name, version in runtimes.items() if version]
    verdict = gpu_verdict(
        runtimes=runtimes, providers=providers, missing_libraries=missing, driver=driver, device=device,
        provider_used=provider_used,
    )
    return {
        "runtime": " + ".join(installed) if installed else None,
        "distributions": runtimes,
        "providers_available": providers,
        "gpu_libraries_missing": missing,
        "nvidia_driver": driver,
        "provider_used": provider_used,
        "gpu": asdict(verdict),
    }
