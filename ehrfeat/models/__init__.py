"""Models shipped inside the package: ``hiprbert-mini/`` (fp16 ONNX, tokenizer, manifests, model card).

:func:`shipped_model_path` finds a shipped folder without importing torch.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SHIPPED_MODEL", "shipped_model_path"]

SHIPPED_MODEL = "hiprbert-mini"


def shipped_model_path(name: str = SHIPPED_MODEL) -> Path:
    """The folder of the shipped model ``name`` (an ehrfeat ONNX export)."""
    return Path(__file__).resolve().parent / name
