"""Compare a trained model with its base on the same held-out set, side by side.

The held-out set comes from ``--config`` (rebuilt from the data sources, with the
same deterministic group split training used) or from the ``ehrfeat_heldout.json``
a training run writes into its checkpoint. Mention-to-code linking tasks are added
for the recipe's ICD-10-CM and HPO sources, on the same held-out groups. Encoders are loaded with
:func:`ehrfeat.load_encoder`, so any backend it returns can be evaluated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ehrfeat.encoders.base import Encoder
from ehrfeat.errors import ConfigError
from ehrfeat.evaluation.heldout import HELDOUT_FILE, EvalSet, evaluate_encoder
from ehrfeat.evaluation.linking import LINKING_SOURCES, LinkingTask, default_linking_tasks
from ehrfeat.models.loader import SHIPPED_ALIASES, load_encoder, resolve_model
from ehrfeat.training.config import load_config
from ehrfeat.training.data_sources import build_training_data

__all__ = ["HELDOUT_FILE", "evaluate_models", "load_evalset"]


def _folder(model: str | Path) -> Path:
    """The folder of ``model``; a shipped model's name (``hiprbert-mini``) means its package folder."""
    return Path(resolve_model(model)) if str(model).strip().lower() in SHIPPED_ALIASES else Path(model)


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "ehrfeat_manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _linking(readers: list[str], fraction: float) -> tuple[LinkingTask, ...]:
    """Linking tasks of the recipe's sources read by the ``icd10cm`` / ``hpo`` readers."""
    wanted = [name for name in LINKING_SOURCES if name in readers]
    return tuple(t for t in default_linking_tasks(fraction) if t.name in wanted) if wanted else ()


def load_evalset(model: str | Path, config: str | Path | None = None, *, linking: bool = True) -> EvalSet:
    """The held-out set of ``config`` (recipe or TOML), else the one saved in the checkpoint ``model``.

    ``linking`` adds the linking tasks of the recipe's ICD-10-CM and HPO sources.
    """
    if config is not None:
        cfg = load_config(config)
        data = build_training_data(cfg)
        tasks = _linking([s.reader for s in cfg.sources], cfg.pairs.heldout_fraction) if linking else ()
        parts = EvalSet.from_parts(data.eval_pairs, data.eval_synonyms.groups)
        return EvalSet(parts.pairs, parts.synonym_groups, tasks)
    saved = _folder(model) / HELDOUT_FILE
    if saved.is_file():
        evalset = EvalSet.load(saved)
        saved_config = _manifest(_folder(model)).get("config", {})
        if linking and not evalset.linking and saved_config:
            readers = [s.get("reader", "") for s in saved_config.get("sources", [])]
            fraction = float(saved_config.get("pairs", {}).get("heldout_fraction", 0.1))
            evalset = EvalSet(evalset.pairs, evalset.synonym_groups, _linking(readers, fraction))
        return evalset
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
    linking: bool = True,
) -> dict[str, dict[str, Any]]:
    """``{"base": metrics, "trained": metrics}`` on the held-out set.

    ``base`` defaults to the checkpoint manifest's base model, else all-MiniLM-L6-v2.
    ``encoders`` replaces loading (e.g. ONNX encoders built by the caller).
    """
    evalset = load_evalset(model, config, linking=linking)
    if encoders is None:
        base_name = base or _manifest(_folder(model)).get("base_model") or "minilm"
        encoders = {"base": load_encoder(base_name), "trained": load_encoder(model)}
    return {name: evaluate_encoder(enc, evalset) for name, enc in encoders.items()}
