"""Pooling settings of a sentence-transformers style model folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ehrfeat.errors import ModelError

__all__ = ["POOLING_MODES", "ModelSettings", "pool", "read_model_settings"]

POOLING_MODES = ("mean", "cls", "max")


@dataclass(frozen=True)
class ModelSettings:
    """How a folder's transformer output becomes one vector per text."""

    pooling: str = "mean"
    max_length: int = 128
    normalize: bool = True


def read_model_settings(folder: Path) -> ModelSettings:
    """Read pooling and maximum length the way sentence-transformers would.

    Looks at ``ehrfeat_manifest.json`` (ehrfeat checkpoints), then
    ``modules.json`` + ``1_Pooling/config.json`` and ``sentence_bert_config.json``;
    falls back to mean pooling and 128 tokens.
    """
    manifest = folder / "ehrfeat_manifest.json"
    if manifest.is_file():
        data = _load_json(manifest)
        return ModelSettings(
            pooling=str(data.get("pooling", "mean")),
            max_length=int(data.get("max_length", 128)),
            normalize=bool(data.get("normalize", True)),
        )
    pooling = "mean"
    pool_cfg = _pooling_config_path(folder)
    if pool_cfg is not None:
        pooling = _pooling_mode(_load_json(pool_cfg), pool_cfg)
    return ModelSettings(pooling=pooling, max_length=_max_length(folder))


def _pooling_mode(cfg: dict, path: Path) -> str:  # type: ignore[type-arg]
    """The pooling of a sentence-transformers Pooling config, old (booleans) or 5.x (a string)."""
    mode = cfg.get("pooling_mode")
    if mode is None:
        mode = "cls" if cfg.get("pooling_mode_cls_token") else "max" if cfg.get("pooling_mode_max_tokens") else "mean"
    mode = {"mean_tokens": "mean", "cls_token": "cls", "max_tokens": "max"}.get(str(mode), str(mode))
    if mode not in POOLING_MODES:
        raise ModelError(
            f"pooling {mode!r} in {path} is not supported",
            fix=f"use a model with one of {POOLING_MODES} pooling",
            code="E304",
        )
    return mode


def _max_length(folder: Path) -> int:
    """``max_seq_length`` of sentence_bert_config.json, else the tokenizer's ``model_max_length``, else 128."""
    sbert = folder / "sentence_bert_config.json"
    if sbert.is_file() and "max_seq_length" in (cfg := _load_json(sbert)):
        return int(cfg["max_seq_length"])
    tok = folder / "tokenizer_config.json"
    if tok.is_file():
        limit = _load_json(tok).get("model_max_length")
        if isinstance(limit, int | float) and 0 < limit <= 100_000:
            return int(limit)
    return 128


def _pooling_config_path(folder: Path) -> Path | None:
    modules = folder / "modules.json"
    if modules.is_file():
        for module in _load_json(modules):
            if module.get("type", "").endswith("Pooling"):
                path = folder / module.get("path", "1_Pooling") / "config.json"
                return path if path.is_file() else None
    default = folder / "1_Pooling" / "config.json"
    return default if default.is_file() else None


def _load_json(path: Path):  # type: ignore[no-untyped-def]
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read {path}: {exc}", fix="restore the model folder from its source", code="E301") from exc


def pool(token_embeddings: np.ndarray, attention_mask: np.ndarray, mode: str) -> np.ndarray:
    """Pool ``(batch, seq, dim)`` token vectors with a ``(batch, seq)`` mask (numpy)."""
    if mode == "cls":
        return token_embeddings[:, 0]
    mask = attention_mask[..., None].astype(token_embeddings.dtype)
    if mode == "max":
        return np.where(mask > 0, token_embeddings, -1e9).max(axis=1)
    return (token_embeddings * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
