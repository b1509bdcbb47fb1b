"""Dynamic int8 quantisation with onnxruntime's quantiser (what optimum's ``ORTQuantizer`` wraps).

No torch and no optimum: the export uses it, and so does the runtime when it
derives the int8 variant of a shipped fp16 model on first use. Weights are
symmetric int8, activations dynamic uint8. On AVX2 without VNNI onnxruntime
multiplies uint8 by int8 with VPMADDUBSW, which can saturate; optimum's ``avx2``
config takes uint8 weights instead. Measured on hiprbert-mini (AMD EPYC, AVX2 only,
2 threads, 3,000 ICD-10-CM terms): int8 weights encode 369 terms/s, uint8 weights
290, at the same parity to fp32 (mean cosine 0.9936 and 0.9940), so int8 weights are
the default there too and ``int8_ladder`` falls back to uint8 (``int8-u8``) when
they fail the parity gate.

Measured on all-MiniLM-L6-v2 and 3,000 ICD-10-CM descriptions (top-10 overlap to
fp32): per-tensor 0.958 mean cosine (fails); per-channel MatMul-only 0.913;
leaving the two activation-by-activation MatMuls of each attention (scores and
context) in fp32 0.915 and faster; also keeping the FFN output projection of the
first two layers in fp32 0.930, mean cosine 0.995, at about 2x the fp32 speed.
That last one is the ``int8`` preset. On hiprbert-mini run 1 (1,000 terms) it
reaches only 0.848; keeping every FFN input projection in fp32 as well
(``int8-keep-ffn1``) 0.905, and quantising only the attention projections
(``int8-attention``) 0.935. ``INT8_LADDER`` tries them in that order.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ehrfeat.errors import ConfigError
from ehrfeat.onnx.cpu import int8_target

__all__ = [
    "INT8_LADDER",
    "QUANTIZATION_PRESETS",
    "QuantizationPreset",
    "get_quantization_preset",
    "int8_ladder",
    "nodes_to_exclude",
    "quantize_onnx",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuantizationPreset:
    """How to quantise: the CPU target, per-channel weights, operators and nodes kept in fp32."""

    name: str = "int8"
    target: str | None = None  # avx512_vnni | avx512 | avx2 | arm64; None: this CPU
    per_channel: bool = True
    reduce_range: bool = False
    operators: tuple[str, ...] = ("MatMul",)
    keep_activation_matmuls: bool = True
    keep_patterns: tuple[str, ...] = (r"layer\.[01]/output/dense/MatMul$",)
    unsigned_weights: bool = False  # uint8 weights: no VPMADDUBSW saturation on AVX2, slower

    @property
    def resolved_target(self) -> str:
        return self.target or int8_target()

    @property
    def file_suffix(self) -> str:
        return f"qint8_{self.resolved_target}"

    @property
    def weight_type(self) -> str:
        """``QInt8``, or ``QUInt8`` with ``unsigned_weights``."""
        return "QUInt8" if self.unsigned_weights else "QInt8"

    def describe(self, exclude: list[str]) -> dict[str, Any]:
        return {
            "preset": self.name,
            "target": self.resolved_target,
            "per_channel": self.per_channel,
            "reduce_range": self.reduce_range,
            "weight_type": self.weight_type,
            "operators": list(self.operators),
            "nodes_kept_fp32": len(exclude),
        }


QUANTIZATION_PRESETS: dict[str, QuantizationPreset] = {
    "int8": QuantizationPreset(),
    # Fine-tuned models grow outliers after the first FFN projection: keep it in fp32 everywhere.
    "int8-keep-ffn1": QuantizationPreset(
        name="int8-keep-ffn1", keep_patterns=(r"intermediate/dense/MatMul$", r"layer\.[01]/output/dense/MatMul$")
    ),
    # Only the attention projections (Q, K, V, output) in int8: the most conservative.
    "int8-attention": QuantizationPreset(
        name="int8-attention", keep_patterns=(r"intermediate/dense/MatMul$", r"layer\.\d+/output/dense/MatMul$")
    ),
    "int8-all-matmul": QuantizationPreset(name="int8-all-matmul", keep_activation_matmuls=False, keep_patterns=()),
    # The int8 preset with uint8 weights (optimum's avx2 choice): the fallback when int8 weights saturate on AVX2.
    "int8-u8": QuantizationPreset(name="int8-u8", unsigned_weights=True),
}
# From the most to the least quantised: what deriving a shipped model's int8 variant tries, in order.
INT8_LADDER = ("int8", "int8-keep-ffn1", "int8-attention")


def int8_ladder(target: str | None = None) -> tuple[str, ...]:
    """``INT8_LADDER`` for ``target`` (default: this CPU); on AVX2 ``int8-u8`` comes second."""
    if (target or int8_target()) == "avx2":
        return (INT8_LADDER[0], "int8-u8", *INT8_LADDER[1:])
    return INT8_LADDER


def get_quantization_preset(name: str) -> QuantizationPreset:
    preset = QUANTIZATION_PRESETS.get(name.lower())
    if preset is None:
        raise ConfigError(f"unknown quantisation {name!r}", fix=f"use one of {', '.join(QUANTIZATION_PRESETS)}", code="E431")
    return preset


def nodes_to_exclude(model_path: Path, preset: QuantizationPreset) -> list[str]:
    """Names of the nodes the preset keeps in fp32."""
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    weights = {init.name for init in graph.initializer}
    produced_by_constant = {out for node in graph.node if node.op_type == "Constant" for out in node.output}
    weights |= produced_by_constant
    keep = []
    for node in graph.node:
        if node.op_type not in preset.operators:
            continue
        if (preset.keep_activation_matmuls and node.op_type == "MatMul" and not any(i in weights for i in node.input)) or any(re.search(p, node.name) for p in preset.keep_patterns):
            keep.append(node.name)
    return keep


class _DropPreprocessingHint(logging.Filter):
    """onnxruntime's advice to run its shape-inference pre-processing first: the parity gate
    judges the result instead, so the hint is noise in the output of `embed-codes`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def quantize_onnx(onnx_dir: Path, preset: QuantizationPreset, *, source: str = "model.onnx", target: str | None = None) -> tuple[Path, dict[str, Any]]:
    """Write ``model_qint8_<target>.onnx`` (or ``target``) in ``onnx_dir``; returns its path and a description."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    exclude = nodes_to_exclude(onnx_dir / source, preset)
    out = onnx_dir / (target or f"{Path(source).stem}_{preset.file_suffix}.onnx")
    hint = _DropPreprocessingHint()
    logging.getLogger().addFilter(hint)  # onnxruntime logs it on the root logger, once per call
    try:
        quantize_dynamic(
            onnx_dir / source,
            out,
            op_types_to_quantize=list(preset.operators),
            per_channel=preset.per_channel,
            reduce_range=preset.reduce_range,
            weight_type=getattr(QuantType, preset.weight_type),
            nodes_to_exclude=exclude,
            # DefaultTensorType: fused graphs (contrib ops such as FastGelu) defeat ONNX shape inference;
            # every float tensor of a graph being quantised is fp32.
            extra_options={"WeightSymmetric": True, "ActivationSymmetric": False, "DefaultTensorType": TensorProto.FLOAT},
        )
    finally:
        logging.getLogger().removeFilter(hint)
    logger.info("quantised %s -> %s (%d nodes kept in fp32)", source, out.name, len(exclude))
    return out, preset.describe(exclude)
