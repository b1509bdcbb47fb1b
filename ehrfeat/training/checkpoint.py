"""Checkpoints: the resumable training state, and the final model folder with its manifest.

``<output>/last-checkpoint/`` holds the model (as a model folder) and
``trainer_state.pt`` (step, optimizer, scheduler, RNG states); it is written
every ``save_every`` steps and when a run stops early, and removed once the run
finishes. The final folder is a sentence-transformers model plus
``ehrfeat_manifest.json`` and a ``README.md`` model card.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import platform
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError

from ehrfeat.errors import ConfigError, InputError, ModelError

__all__ = [
    "LAST_CHECKPOINT",
    "MANIFEST",
    "has_trainer_state",
    "library_versions",
    "load_trainer_state",
    "read_manifest",
    "restore_optimizer",
    "restore_rng",
    "save_trainer_state",
    "write_manifest",
    "writing_output",
]

LAST_CHECKPOINT = "last-checkpoint"
MANIFEST = "ehrfeat_manifest.json"
_STATE = "trainer_state.pt"


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("ehrfeat", "torch", "transformers", "sentence-transformers", "pytorch-metric-learning", "tokenizers", "numpy"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


@contextmanager
def writing_output(output: Path, what: str) -> Iterator[None]:
    """Turn a failed write under ``output`` (disk full, file too large, read-only) into E1727.

    torch and safetensors report a full disk as their own errors (``RuntimeError``,
    ``SafetensorError``) rather than ``OSError``; all three name the folder and the fix.
    """
    try:
        yield
    except (OSError, RuntimeError, SafetensorError) as exc:
        if isinstance(exc, RuntimeError) and not _is_write_failure(exc):
            raise
        detail = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0])[:200]
        raise InputError(
            f"cannot write the {what} into {output}: {detail}",
            fix=f"free space on the disk that holds {output} (or make it writable), then run the same command again: "
            "it resumes from the last checkpoint",
            code="E1727",
        ) from exc


def _is_write_failure(exc: RuntimeError) -> bool:
    text = str(exc).lower()
    return any(word in text for word in ("write", "space", "disk", "quota", "file too large", "unexpected pos"))


def save_trainer_state(output: Path, model: Any, optimizer: Any, scheduler: Any, step: int, plan_length: int) -> Path:
    """Write ``last-checkpoint`` atomically (a temporary folder renamed into place).

    A write that fails (a full disk) removes the temporary folder and raises E1727;
    the previous checkpoint stays as it was, so the run resumes from it.
    """
    final = output / LAST_CHECKPOINT
    tmp = output / f"{LAST_CHECKPOINT}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    state = {
        "step": step,
        "plan_length": plan_length,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    try:
        with writing_output(output, f"checkpoint of step {step}"):
            model.save(tmp)
            torch.save(state, tmp / _STATE)
    except InputError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return final


def _state_path(output: Path) -> Path:
    return output / LAST_CHECKPOINT / _STATE


def has_trainer_state(output: Path) -> bool:
    """Whether ``output/last-checkpoint`` holds a trainer state to resume from (without reading it)."""
    return _state_path(output).is_file()


def load_trainer_state(output: Path) -> dict[str, Any] | None:
    """The saved state of ``output/last-checkpoint`` (``None`` when there is none)."""
    path = _state_path(output)
    if not path.is_file():
        return None
    try:  # weights_only: tensors and plain values only, so a crafted pickle cannot run code
        return torch.load(path, map_location="cpu", weights_only=True)  # type: ignore[no-any-return]
    except Exception as exc:  # a truncated, foreign or crafted file
        raise ModelError(
            f"cannot read {path} as a training state (tensors and plain values only): {str(exc).splitlines()[0][:200]}",
            fix=f"delete {path.parent} to start over",
            code="E318",
        ) from exc


def restore_optimizer(optimizer: Any, state: dict[str, Any], output: Path) -> None:
    """Load the saved optimizer state into ``optimizer``; refuse one built for other weights or other learning rates (E414).

    The saved learning rates would silently win over the config's, so a resume with another
    ``training.lr`` or ``layer_lr_decay`` (or another ``model.freeze_layers``) is not this run.
    """
    saved = state["optimizer"]
    fix = ("resume with the same config (training.lr, training.layer_lr_decay, model.freeze_layers), "
           "or delete the checkpoint folder to start over")
    where = output / LAST_CHECKPOINT
    try:
        saved_lrs = [float(group.get("initial_lr", group["lr"])) for group in saved["param_groups"]]
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{where} holds no optimizer this run can resume ({exc!r})", fix=fix, code="E414") from exc
    wanted_lrs = [float(group.get("initial_lr", group["lr"])) for group in optimizer.param_groups]
    if len(saved_lrs) != len(wanted_lrs) or not all(map(math.isclose, saved_lrs, wanted_lrs)):
        raise ConfigError(f"{where} trained at learning rates {saved_lrs} (top layer first); this config sets {wanted_lrs}",
                          fix=fix, code="E414")
    try:
        optimizer.load_state_dict(saved)
    except ValueError as exc:  # another model.freeze_layers: the optimizer holds other weights
        raise ConfigError(f"{where} trained other weights than this config does ({exc})", fix=fix, code="E414") from exc


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch_rng"])
    if state.get("cuda_rng") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """``ehrfeat_manifest.json`` and the README.md model card."""
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=False, default=str))
    (folder / "README.md").write_text(_model_card(manifest))


def read_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ModelError(f"{folder} has no {MANIFEST}", fix="pass a folder written by `ehrfeat train`", code="E318")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path} cannot be read: {exc}", fix="pass a folder written by `ehrfeat train`", code="E318") from None
    if not isinstance(manifest, dict):
        raise ModelError(f"{path} is not a training manifest (a JSON object)", fix="pass a folder written by `ehrfeat train`", code="E318")
    return manifest


def _model_card(m: dict[str, Any]) -> str:
    lines = [
        "---",
        "library_name: sentence-transformers",
        "tags: [sentence-transformers, feature-extraction, ehrfeat, hiprbert, biomedical]",
        "---",
        f"# {m.get('name', 'ehrfeat')} term encoder",
        "",
        "A biomedical term encoder fine-tuned by ehrfeat with HiPrBERT hierarchical pretraining",
        "(tree loss over distance categories from code hierarchies, plus multi-similarity loss on synonyms).",
        "",
        f"- base model: `{m.get('base_model')}`",
        f"- pooling: {m.get('pooling')}, max length: {m.get('max_length')} tokens, L2-normalised output",
        f"- steps: {m.get('steps')}",
        "",
        "## Data sources",
        "",
        "| source | weight | training pairs | held-out pairs |",
        "|---|---|---|---|",
    ]
    for row in m.get("data_sources", []):
        held = row.get("heldout") or {}
        lines.append(f"| {row['name']} | {row.get('weight', '')} | {row['train'].get('pairs', row['train'].get('terms'))} | {held.get('pairs', held.get('terms', ''))} |")
    lines += ["", "## Held-out evaluation", "", "```", json.dumps(m.get("evaluation", {}), indent=1), "```", ""]
    lines += ["Load with `ehrfeat.load_encoder(folder)` or `sentence_transformers.SentenceTransformer(folder)`.", ""]
    return "\n".join(lines)
