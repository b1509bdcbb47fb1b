"""The trainable term encoder: a Hugging Face BERT-family model plus pooling.

:meth:`TermModel.save` writes a sentence-transformers model folder
(``modules.json``, ``1_Pooling``, ``2_Normalize``, ``sentence_bert_config.json``),
so ``SentenceTransformer(folder)``, optimum's ONNX export and
``ehrfeat.load_encoder(folder)`` all load it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ehrfeat.errors import ConfigError, ModelError
from ehrfeat.models.loader import resolve_model

__all__ = [
    "TermModel", "check_drop_layers", "check_freeze_layers", "drop_layers", "freeze_layers", "layerwise_lr_groups",
    "write_sentence_transformers_files",
]


class TermModel(nn.Module):
    """Tokenizer + transformer + CLS or mean pooling; ``forward(texts)`` gives unnormalised vectors."""

    def __init__(self, base: str | Path, *, pooling: str = "mean", max_length: int = 25) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        source = str(resolve_model(str(base)))
        try:
            self.tokenizer: Any = AutoTokenizer.from_pretrained(source)
            self.transformer: Any = AutoModel.from_pretrained(source)
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"cannot load base model {source!r}: {exc}".splitlines()[0],
                fix="set model.base to 'minilm', 'tiny', a model folder, or a hub id reachable offline",
                code="E306",
            ) from exc
        if pooling not in ("mean", "cls"):
            raise ModelError(f"unknown pooling {pooling!r}", fix="use 'mean' or 'cls'", code="E304")
        self.source = source
        self.pooling = pooling
        self.max_length = max_length

    @property
    def device(self) -> torch.device:
        return next(self.transformer.parameters()).device

    @property
    def dim(self) -> int:
        return int(self.transformer.config.hidden_size)

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return {k: v.to(self.device) for k, v in enc.items()}

    def forward(self, texts: list[str]) -> torch.Tensor:
        enc = self.tokenize(texts)
        tokens = self.transformer(**enc).last_hidden_state
        if self.pooling == "cls":
            return tokens[:, 0]
        mask = enc["attention_mask"].unsqueeze(-1).to(tokens.dtype)
        return (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)

    def save(self, folder: str | Path) -> Path:
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        self.transformer.save_pretrained(out, safe_serialization=True)
        self.tokenizer.save_pretrained(out)
        write_sentence_transformers_files(out, dim=self.dim, pooling=self.pooling, max_length=self.max_length)
        return out


def check_drop_layers(layers: tuple[int, ...], count: int) -> None:
    """Refuse ``layers`` a model of ``count`` layers cannot give up (one it lacks, or all of them)."""
    if layers and (max(layers) >= count or len(set(layers)) >= count):
        raise ConfigError(f"model.drop_layers = {sorted(layers)} cannot be taken from a model of {count} layers",
                          fix=f"name layers 0 to {count - 1} and keep at least one", code="E404")


def drop_layers(model: TermModel, layers: tuple[int, ...]) -> None:
    """Remove transformer ``layers`` (0-based) in place: a shallower student that starts from the base's other layers.

    The config's ``num_hidden_layers`` follows, so the saved folder loads as the smaller model.
    """
    if not layers:
        return
    encoder = model.transformer.encoder
    check_drop_layers(layers, len(encoder.layer))
    encoder.layer = nn.ModuleList(layer for i, layer in enumerate(encoder.layer) if i not in layers)
    model.transformer.config.num_hidden_layers = len(encoder.layer)


def check_freeze_layers(count: int, layers: int) -> None:
    """Refuse freezing ``count`` bottom layers of a model of ``layers``: at least the top layer must train."""
    if count >= layers:
        raise ConfigError(f"model.freeze_layers = {count} leaves nothing to train in a model of {layers} layers",
                          fix=f"freeze at most {layers - 1} layers (0 trains every weight)", code="E404")


def freeze_layers(model: TermModel, count: int) -> None:
    """Keep the embeddings and the bottom ``count`` transformer layers at their starting weights (``count`` = 0: none).

    Their parameters stop asking for gradients, so the optimizer never sees them and
    backpropagation stops above them: the base's lexical layers stay the base's.
    """
    if count <= 0:
        return
    encoder = model.transformer.encoder
    check_freeze_layers(count, len(encoder.layer))
    for module in (model.transformer.embeddings, *encoder.layer[:count]):
        for param in module.parameters():
            param.requires_grad_(False)


def layerwise_lr_groups(model: TermModel, lr: float, decay: float) -> list[dict[str, Any]]:
    """The trainable weights as optimizer groups with layer-wise learning rates (discriminative fine-tuning, Howard & Ruder 2018).

    The top transformer layer, and any weight above it, trains at ``lr``; each layer below at
    ``decay`` times the one above; the embeddings at ``decay`` times the bottom layer. Groups come
    top first; frozen weights are in none. ``decay`` = 1: one group at ``lr``.
    """
    trainable = [p for p in model.parameters() if p.requires_grad]
    if decay == 1.0:
        return [{"params": trainable, "lr": lr}]
    layers = model.transformer.encoder.layer
    below_top = {id(p): len(layers) for p in model.transformer.embeddings.parameters()}
    for i, layer in enumerate(layers):
        below_top.update((id(p), len(layers) - 1 - i) for p in layer.parameters())
    groups: dict[int, list[nn.Parameter]] = {}
    for param in trainable:
        groups.setdefault(below_top.get(id(param), 0), []).append(param)
    return [{"params": params, "lr": lr * decay**depth} for depth, params in sorted(groups.items())]


def write_sentence_transformers_files(folder: Path, *, dim: int, pooling: str, max_length: int) -> None:
    """The module description files of a sentence-transformers folder."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules, indent=2))
    (folder / "1_Pooling").mkdir(exist_ok=True)
    pool_cfg = {
        "word_embedding_dimension": dim,
        "pooling_mode_cls_token": pooling == "cls",
        "pooling_mode_mean_tokens": pooling == "mean",
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    }
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pool_cfg, indent=2))
    (folder / "2_Normalize").mkdir(exist_ok=True)
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": max_length, "do_lower_case": False}))
    (folder / "config_sentence_transformers.json").write_text(
        json.dumps({"__version__": {"ehrfeat": _version()}, "prompts": {}, "default_prompt_name": None, "similarity_fn_name": "cosine"})
    )


def _version() -> str:
    from ehrfeat import __version__

    return __version__
