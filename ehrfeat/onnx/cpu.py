"""CPU features that decide the int8 kernels (AVX2, AVX-512, VNNI)."""

from __future__ import annotations

import platform
from pathlib import Path

__all__ = ["cpu_flags", "int8_target"]

_INTERESTING = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")


def cpu_flags() -> dict[str, bool]:
    """Which of AVX2, AVX-512, VNNI and AMX this CPU reports (Linux /proc/cpuinfo; empty elsewhere)."""
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags.update(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    return {name: name in flags for name in _INTERESTING}


def int8_target() -> str:
    """optimum's quantisation target for this machine: avx512_vnni, avx512, avx2 or arm64."""
    if platform.machine().lower() in ("arm64", "aarch64"):
        return "arm64"
    flags = cpu_flags()
    if flags["avx512_vnni"]:
        return "avx512_vnni"
    if flags["avx512f"]:
        return "avx512"
    return "avx2"
