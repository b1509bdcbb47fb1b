"""Which exported variant to run on which hardware.

On the CPU: int8 when it passed its gate, else the most fused fp32 graph. On a
GPU: fp16 when it passed, else fused fp32. A variant can also be named.
"""

from __future__ import annotations

import logging

from ehrfeat.errors import ModelError
from ehrfeat.onnx.manifest import OnnxManifest, VariantEntry
from ehrfeat.onnx.providers import CPU

__all__ = ["PRECISIONS", "choose_variant"]

logger = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "int8")


def _fusion(entry: VariantEntry) -> int:
    return int(entry.optimization[1:]) if entry.optimization else 0


def choose_variant(manifest: OnnxManifest, provider: str = CPU, requested: str | None = None) -> VariantEntry:
    """The variant to load: ``requested`` (a name, file or precision) or the best for ``provider``."""
    variants = manifest.variants
    if requested:
        entry = manifest.variant(requested)
        if entry is not None:
            return entry
        if requested in PRECISIONS:
            matching = [v for v in variants if v.precision == requested]
            if matching:
                return max(matching, key=_fusion)
        names = ", ".join(v.name for v in variants)
        raise ModelError(
            f"no variant {requested!r} in this export (it has: {names})",
            fix=f"pick one of {names}, or run `ehrfeat export` with the option that makes it",
            code="E312",
        )
    on_gpu = provider != CPU
    order = ("fp16", "fp32", "int8") if on_gpu else ("int8", "fp32")
    for precision in order:
        matching = [v for v in variants if v.precision == precision and (on_gpu or _fusion(v) < 4)]
        if matching:
            return max(matching, key=_fusion)
    logger.warning(
        "no %s variant in this export: running %s (%s) on %s",
        " or ".join(order), variants[0].name, variants[0].precision, "the GPU" if on_gpu else "the CPU",
    )
    return variants[0]
