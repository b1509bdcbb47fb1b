"""A PyTorch encoder over any Hugging Face BERT-family model folder or hub id.

This is the reference implementation the ONNX runtime is checked against, and
the encoder used where torch is installed and no ONNX export exists. torch is
imported only when an instance is created, never by ``import ehrfeat``.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ehrfeat.encoders.base import BatchedEncoder, EncodeCall
from ehrfeat.encoders.pooling import POOLING_MODES, ModelSettings, read_model_settings
from ehrfeat.errors import ModelError

__all__ = ["TransformerEncoder", "looks_like_path", "weights_digest"]

logger = logging.getLogger(__name__)

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def weights_digest(folder: Path) -> str:
    """sha256 of a folder's weight file (streamed), the basis of its fingerprint."""
    for name in _WEIGHT_FILES:
        path = folder / name
        if path.is_file():
            digest = hashlib.sha256()
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            return digest.hexdigest()
    raise ModelError(
        f"no weights ({' or '.join(_WEIGHT_FILES)}) in {folder}",
        fix="point --model at a Hugging Face model folder or an ehrfeat checkpoint",
        code="E302",
    )


def looks_like_path(model: str) -> bool:
    """True for strings that name a file-system location rather than a hub id."""
    return model.startswith(("/", ".", "~")) or Path(model).exists() or model.count("/") > 1 or "\\" in model


class TransformerEncoder(BatchedEncoder):
    """``AutoModel`` + pooling, on CPU or CUDA, in inference mode."""

    def __init__(
        self,
        model: str | Path,
        *,
        pooling: str | None = None,
        max_length: int | None = None,
        device: str | None = None,
        local_files_only: bool = False,
    ) -> None:
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - depends on extras
            raise ModelError(
                "the torch encoder needs torch and transformers",
                fix='pip install "ehrfeat[torch]", or use an ONNX model folder',
                code="E303",
            ) from exc
        path = Path(model)
        settings = read_model_settings(path) if path.is_dir() else ModelSettings()
        self.pooling = pooling or settings.pooling
        if self.pooling not in POOLING_MODES:
            raise ModelError(f"unknown pooling {self.pooling!r}", fix=f"use one of {POOLING_MODES}", code="E304")
        self.max_length = int(max_length or settings.max_length)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        source = str(path) if path.is_dir() else str(model)
        if not path.is_dir() and looks_like_path(str(model)):
            raise ModelError(
                f"model folder {str(model)!r} does not exist or is not a folder",
                fix="pass a folder holding config.json and weights, or a hub id such as sentence-transformers/all-MiniLM-L6-v2",
                code="E305",
            )
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only)
            self._model = AutoModel.from_pretrained(source, local_files_only=local_files_only)
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"cannot load model {source!r}: {exc}".splitlines()[0],
                fix="check the folder holds config.json, tokenizer files and weights; a hub id needs internet",
                code="E306",
            ) from exc
        self._model.eval().to(self.device)
        self._torch = torch
        self._source = source
        self._fingerprint = self._make_fingerprint(path if path.is_dir() else None)

    def _make_fingerprint(self, folder: Path | None) -> str:
        base = weights_digest(folder) if folder is not None else self._source
        key = f"torch|{base}|{self.pooling}|{self.max_length}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def dim(self) -> int:
        return int(self._model.config.hidden_size)

    @property
    def model(self) -> Any:
        return self._model

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    def _encode_batch(self, texts: list[str], call: EncodeCall) -> np.ndarray:
        torch = self._torch
        enc = self._tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        with torch.inference_mode():
            tokens = self._model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(tokens.dtype)
            if self.pooling == "cls":
                pooled = tokens[:, 0]
            elif self.pooling == "max":
                pooled = tokens.masked_fill(mask == 0, -1e9).max(dim=1).values
            else:
                pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return pooled.float().cpu().numpy()

    def __repr__(self) -> str:
        return f"TransformerEncoder({self._source!r}, pooling={self.pooling}, fingerprint={self.fingerprint})"
