"""Graph optimisation presets O1-O4, applied with optimum's ``ORTOptimizer``.

O1 basic fusions; O2 + transformer fusions (attention, LayerNorm, GELU); O3 + GELU
approximation; O4 = O3 + fp16 weights for the GPU (inputs and outputs stay fp32).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ehrfeat.errors import ConfigError

__all__ = ["OPTIMIZATION_PRESETS", "OptimizationPreset", "optimize_onnx"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OptimizationPreset:
    """A named optimum optimisation level; ``fp16`` makes an fp16 variant."""

    name: str
    fp16: bool = False

    @property
    def precision(self) -> str:
        return "fp16" if self.fp16 else "fp32"

    def to_optimum(self) -> Any:
        from optimum.onnxruntime import AutoOptimizationConfig

        return AutoOptimizationConfig.with_optimization_level(self.name, for_gpu=self.fp16)


OPTIMIZATION_PRESETS: dict[str, OptimizationPreset] = {
    "O1": OptimizationPreset("O1"),
    "O2": OptimizationPreset("O2"),
    "O3": OptimizationPreset("O3"),
    "O4": OptimizationPreset("O4", fp16=True),
}


def get_preset(name: str) -> OptimizationPreset:
    preset = OPTIMIZATION_PRESETS.get(name.upper())
    if preset is None:
        raise ConfigError(f"unknown optimisation level {name!r}", fix="use O1, O2, O3 or O4", code="E430")
    return preset


def optimize_onnx(onnx_dir: Path, preset: OptimizationPreset, *, source: str = "model.onnx", suffix: str | None = None) -> Path:
    """Write ``model_<suffix>.onnx`` next to ``source`` in ``onnx_dir`` (which holds config.json)."""
    from optimum.onnxruntime import ORTOptimizer

    suffix = suffix or preset.name
    optimizer = ORTOptimizer.from_pretrained(onnx_dir, file_names=[source])
    optimizer.optimize(save_dir=onnx_dir, optimization_config=preset.to_optimum(), file_suffix=suffix)
    out = onnx_dir / f"{Path(source).stem}_{suffix}.onnx"
    logger.info("optimised %s -> %s", source, out.name)
    return out
