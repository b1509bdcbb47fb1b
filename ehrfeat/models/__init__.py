"""Naming, finding and loading encoders: the one room for models.

- :mod:`ehrfeat.models.loader`: ``load_encoder``, model aliases (``hiprbert-mini``,
  ``minilm``), resolution of names, folders and hub ids, default fingerprints.
- :mod:`ehrfeat.models.doctor`: what runtime, providers and variant a model gets here.
- ``hiprbert-mini/``: the model shipped inside the package (fp16 ONNX, tokenizer,
  manifests, model card); :func:`shipped_model_path` finds it without importing torch.
"""

from __future__ import annotations

from pathlib import Path

from ehrfeat.models.loader import DEFAULT_MODEL, default_fingerprint, load_encoder, resolve_model

__all__ = ["DEFAULT_MODEL", "SHIPPED_MODEL", "default_fingerprint", "load_encoder", "resolve_model", "shipped_model_path"]

SHIPPED_MODEL = "hiprbert-mini"


def shipped_model_path(name: str = SHIPPED_MODEL) -> Path:
    """The folder of the shipped model ``name`` (an ehrfeat ONNX export)."""
    return Path(__file__).resolve().parent / name
