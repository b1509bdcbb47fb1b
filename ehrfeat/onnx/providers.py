"""Execution providers: TensorRT > CUDA > CPU, and no silent fallback to the CPU.

onnxruntime quietly runs on the CPU when a GPU provider cannot load its
libraries. ehrfeat checks the providers a session really uses and raises,
naming the missing CUDA/cuDNN/TensorRT libraries, unless the caller allowed the
CPU fallback.
"""

from __future__ import annotations

import ctypes
import logging
from collections.abc import Sequence

import onnxruntime as ort

from ehrfeat.errors import ModelError

__all__ = [
    "CPU",
    "CUDA",
    "DEVICES",
    "TENSORRT",
    "available_providers",
    "check_session_providers",
    "missing_gpu_libraries",
    "requested_providers",
]

logger = logging.getLogger(__name__)

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
DEVICES = ("auto", "cpu", "cuda", "tensorrt")

# Shared libraries each GPU provider dlopens (CUDA 12 / cuDNN 9 builds of onnxruntime-gpu).
_GPU_LIBRARIES = {
    CUDA: ("libcudart.so.12", "libcublas.so.12", "libcublasLt.so.12", "libcufft.so.11", "libcudnn.so.9"),
    TENSORRT: ("libnvinfer.so.10", "libnvinfer_plugin.so.10", "libnvonnxparser.so.10"),
}


def available_providers() -> list[str]:
    """Providers this onnxruntime build was compiled with (not proof that they load)."""
    return list(ort.get_available_providers())


def missing_gpu_libraries(provider: str) -> list[str]:
    """Libraries ``provider`` needs that the dynamic loader cannot find."""
    missing = []
    for name in _GPU_LIBRARIES.get(provider, ()):
        try:
            ctypes.CDLL(name)
        except OSError:
            missing.append(name)
    return missing


def requested_providers(device: str = "auto") -> list[str]:
    """The provider list for a session on ``device`` ("auto", "cpu", "cuda" or "tensorrt").

    "auto" takes TensorRT when its libraries load, then CUDA when this build has it,
    then the CPU. Naming a GPU device that this build lacks is an error right away.
    """
    if device not in DEVICES:
        raise ModelError(f"unknown device {device!r}", fix=f"use one of {', '.join(DEVICES)}", code="E320")
    available = available_providers()
    if device == "cpu":
        return [CPU]
    if device == "auto":
        chosen = [p for p in (TENSORRT, CUDA) if p in available]
        if TENSORRT in chosen and missing_gpu_libraries(TENSORRT):
            chosen.remove(TENSORRT)
        return [*chosen, CPU]
    wanted = TENSORRT if device == "tensorrt" else CUDA
    if wanted not in available:
        raise _gpu_error(wanted, f"this onnxruntime build ({ort.__version__}) has no {wanted}")
    return [wanted, CUDA, CPU] if wanted == TENSORRT and CUDA in available else [wanted, CPU]


def check_session_providers(
    used: Sequence[str], requested: Sequence[str], *, allow_cpu_fallback: bool = False
) -> str:
    """The provider a session actually runs on; raises when a requested GPU provider did not load."""
    primary = used[0] if used else CPU
    first = requested[0]
    if primary == first:
        return primary
    if primary != CPU:  # TensorRT -> CUDA: still on the GPU
        logger.warning("%s did not load; running on %s", first, primary)
        return primary
    if allow_cpu_fallback:
        logger.warning("%s did not load (missing: %s); running on the CPU as allowed", first, missing_gpu_libraries(first))
        return primary
    raise _gpu_error(first, f"{first} was requested but the session fell back to the CPU")


def _gpu_error(provider: str, reason: str) -> ModelError:
    missing = missing_gpu_libraries(provider)
    libs = f"; libraries not found: {', '.join(missing)}" if missing else ""
    return ModelError(
        f"{reason}{libs}",
        fix=(
            "install onnxruntime-gpu (instead of onnxruntime, never both) with CUDA 12 and cuDNN 9 on the "
            "library path (LD_LIBRARY_PATH), or pass device='cpu' / allow_cpu_fallback=True"
        ),
        code="E321",
    )
