"""Compare a trained model with its base on the same held-out set, side by side.

The held-out set comes from ``--config`` (rebuilt from the data sources, with the
same deterministic group split training used) or from the ``ehrfeat_heldout.json``
a training run writes into its checkpoint. Mention-to-code linking tasks are added
for the recipe's ICD-10-CM and HPO sources, and lay-mention tasks (HPO layperson
synonyms, MeSH entry terms, Disease Ontology synonyms), on the same held-out groups.
The second model's metrics carry 95% paired bootstrap intervals of the difference
(:func:`ehrfeat.evaluation.compare_encoders`). Encoders are loaded with
:func:`ehrfeat.load_encoder`, so any backend it returns can be evaluated.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from ehrfeat.encoders.base import Encoder
from ehrfeat.errors import ConfigError
from ehrfeat.evaluation.bootstrap import BootstrapSettings
from ehrfeat.evaluation.heldout import HELDOUT_FILE, EvalSet, compare_encoders
from ehrfeat.evaluation.lay import lay_tasks_from_sources
from ehrfeat.evaluation.linking import LINKING_SOURCES, LinkingTask, default_linking_tasks
from ehrfeat.models.loader import SHIPPED_ALIASES, load_encoder, resolve_model
from ehrfeat.training.config import load_config
from ehrfeat.training.data_sources import build_training_data

__all__ = ["HELDOUT_FILE", "evaluate_models", "load_evalset", "training_texts"]


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


def _lay(sources: list[tuple[str, dict[str, Any]]], fraction: float) -> tuple[LinkingTask, ...]:
    """Lay-mention tasks when the recipe trains on HPO (their held-out groups follow its split)."""
    return lay_tasks_from_sources(sources, fraction) if any(reader == "hpo" for reader, _ in sources) else ()


def load_evalset(model: str | Path, config: str | Path | None = None, *, linking: bool = True, lay: bool = True) -> EvalSet:
    """The held-out set of ``config`` (recipe or TOML), else the one saved in the checkpoint ``model``.

    ``linking`` adds the linking tasks of the recipe's ICD-10-CM and HPO sources;
    ``lay`` the lay-mention tasks (when the saved set has none).
    """
    if config is not None:
        cfg = load_config(config)
        data = build_training_data(cfg)
        tasks = _linking([s.reader for s in cfg.sources], cfg.pairs.heldout_fraction) if linking else ()
        lay_tasks = _lay([(s.reader, dict(s.args)) for s in cfg.sources], cfg.pairs.heldout_fraction) if lay else ()
        parts = EvalSet.from_parts(data.eval_pairs, data.eval_synonyms.groups)
        return EvalSet(parts.pairs, parts.synonym_groups, tasks, lay_tasks)
    saved = _folder(model) / HELDOUT_FILE
    if saved.is_file():
        evalset = EvalSet.load(saved)
        saved_config = _manifest(_folder(model)).get("config", {})
        sources = [(s.get("reader", ""), dict(s.get("args", {}))) for s in saved_config.get("sources", [])]
        fraction = float(saved_config.get("pairs", {}).get("heldout_fraction", 0.1))
        if linking and not evalset.linking and saved_config:
            evalset = replace(evalset, linking=_linking([r for r, _ in sources], fraction))
        if lay and not evalset.lay and saved_config:
            evalset = replace(evalset, lay=_lay(sources, fraction))
        if not linking or not lay:
            evalset = replace(evalset, linking=evalset.linking if linking else (), lay=evalset.lay if lay else ())
        return evalset
    folder = saved.parent
    why = "" if folder.is_dir() else (" (it is a file)" if folder.exists() else " (no such folder here)")
    raise ConfigError(
        f"{model} holds no {HELDOUT_FILE} to evaluate on{why}",
        fix="pass --config with the recipe or TOML file the held-out groups come from (e.g. --config hiprbert-mini)",
        code="E415",
    )


def training_texts(config: str | Path) -> frozenset[str]:
    """Case-folded texts of every training pair and synonym group of ``config`` (recipe or TOML)."""
    return build_training_data(load_config(config)).trained_texts()


def evaluate_models(
    model: str | Path,
    *,
    base: str | Path | None = None,
    config: str | Path | None = None,
    encoders: dict[str, Encoder] | None = None,
    linking: bool = True,
    lay: bool = True,
    bootstrap: BootstrapSettings | None = None,
    unseen_by: str | Path | None = None,
) -> dict[str, dict[str, Any]]:
    """``{"base": metrics, "trained": metrics}`` on the held-out set; ``trained`` holds the ``ci95`` of each delta.

    ``base`` defaults to the checkpoint manifest's base model, else all-MiniLM-L6-v2.
    ``encoders`` replaces loading (e.g. ONNX encoders built by the caller). ``unseen_by``
    (recipe or TOML) keeps only held-out items whose text its training never saw.
    """
    evalset = load_evalset(model, config, linking=linking, lay=lay)
    if unseen_by is not None:
        evalset = evalset.unseen(training_texts(unseen_by))
    if encoders is None:
        base_name = base or _manifest(_folder(model)).get("base_model") or "minilm"
        encoders = {"base": load_encoder(base_name), "trained": load_encoder(model)}
    return compare_encoders(encoders, evalset, bootstrap=bootstrap)
