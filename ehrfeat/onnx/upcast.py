"""fp16 -> fp32: rebuild a full-precision graph from an exported fp16 ONNX file, without torch.

The shipped model is one fp16 file (half the size); the CPU wants fp32 (and int8
made from it). Neither onnx nor onnxruntime converts fp16 back, so this does:
every fp16 initializer, ``Constant`` and tensor attribute becomes fp32, every
``Cast`` to fp16 casts to fp32 instead, and every fp16 type annotation (inputs,
outputs, ``value_info``) says fp32. Upcasting is exact, so the fp32 graph computes
what the fp16 one meant to, at fp32 precision: its parity with the fp16 file is
checked by the caller. Needs ``onnx`` (the ``onnx`` extra).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ehrfeat.errors import ModelError
from ehrfeat.extras import require

__all__ = ["upcast_fp16_model"]

logger = logging.getLogger(__name__)


def _tensor_to_fp32(tensor: Any) -> Any:
    from onnx import TensorProto, numpy_helper

    if tensor.data_type != TensorProto.FLOAT16:
        return None
    array = numpy_helper.to_array(tensor).astype("float32")
    return numpy_helper.from_array(array, tensor.name)


def _fix_value_type(value: Any) -> int:
    from onnx import TensorProto

    tensor_type = value.type.tensor_type
    if value.type.HasField("tensor_type") and tensor_type.elem_type == TensorProto.FLOAT16:
        tensor_type.elem_type = TensorProto.FLOAT
        return 1
    return 0


def _upcast_graph(graph: Any, counts: dict[str, int]) -> None:
    from onnx import AttributeProto, TensorProto

    for i, init in enumerate(graph.initializer):
        converted = _tensor_to_fp32(init)
        if converted is not None:
            graph.initializer[i].CopyFrom(converted)
            counts["initializers"] += 1
    for value in (*graph.input, *graph.output, *graph.value_info):
        counts["type annotations"] += _fix_value_type(value)
    for node in graph.node:
        for attr in node.attribute:
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT16:
                attr.i = TensorProto.FLOAT
                counts["casts"] += 1
            elif attr.type == AttributeProto.TENSOR:
                converted = _tensor_to_fp32(attr.t)
                if converted is not None:
                    attr.t.CopyFrom(converted)
                    counts["constants"] += 1
            elif attr.type == AttributeProto.GRAPH:
                _upcast_graph(attr.g, counts)
            elif attr.type == AttributeProto.GRAPHS:
                for sub in attr.graphs:
                    _upcast_graph(sub, counts)


def upcast_fp16_model(source: Path, target: Path) -> dict[str, int]:
    """Write the fp32 version of the fp16 ONNX file ``source`` to ``target``; returns what changed."""
    onnx = require("onnx", needed_for="deriving the CPU variants of a shipped fp16 model")
    model = onnx.load(str(source))
    counts = {"initializers": 0, "constants": 0, "casts": 0, "type annotations": 0}
    _upcast_graph(model.graph, counts)
    if not counts["initializers"]:
        raise ModelError(f"{source} holds no fp16 weights to upcast", fix="pass the fp16 variant of an export", code="E337")
    onnx.checker.check_model(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(target))
    logger.info("upcast %s -> %s: %s", source.name, target.name, counts)
    return counts
