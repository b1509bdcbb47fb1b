"""Evaluate a trained model and its base on the same held-out set, side by side.

The held-out set comes from ``--config`` (rebuilt from the data sources, with the
same deterministic group split training used) or from the ``ehrfeat_heldout.json``
a training run writes into its checkpoint. Encoders are loaded with
:func:`ehrfeat.load_encoder`, so any backend it returns can be evaluated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ehrfeat.encoders.base import Encoder
from ehrfeat.encoders.loader import load_encoder
from ehrfeat.errors import ConfigError
from ehrfeat.evaluation.heldout import EvalSet, evaluate_encoder

__all__ = ["HELDOUT_FILE", "evaluate_models", "load_evalset"]

HELDOUT_FILE = "ehrfeat_heldout.json"


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "ehrfeat_manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def load_evalset(model: str | Path, config: str | Path | None = None) -> EvalSet:
    """The held-out set of ``config`` (recipe or TOML), else the one saved in the checkpoint ``model``."""
    if config is not None:
        from ehrfeat.training.config import load_config
        from ehrfeat.training.data_sources import build_training_data

        data = build_training_data(load_config(config))
        return EvalSet.from_parts(data.eval_pairs, data.eval_synonyms.groups)
    saved = Path(model) / HELDOUT_FILE
    if saved.is_file():
        return EvalSet.load(saved)
    raise ConfigError(
        f"{model} holds no {HELDOUT_FILE} to evaluate on",
        fix="pass --config with the recipe or TOML file the held-out groups come from (e.g. --config hiprbert-mini)",
        code="E415",
    )


def evaluate_models(
    model: str | Path,
    *,
    base: str | Path | None = None,
    config: str | Path | None = None,
    encoders: dict[str, Encoder] | None = None,
) -> dict[str, dict[str, Any]]:
    """``{"base": metrics, "trained": metrics}`` on the held-out set.

    ``base`` defaults to the checkpoint manifest's base model, else all-MiniLM-L6-v2.
    ``encoders`` replaces loading (e.g. ONNX encoders built by the caller).
    """
    evalset = load_evalset(model, config)
    if encoders is None:
        base_name = base or _manifest(Path(model)).get("base_model") or "minilm"
        encoders = {"base": load_encoder(base_name), "trained": load_encoder(model)}
    return {name: evaluate_encoder(enc, evalset) for name, enc in encoders.items()}
