"""Training configuration: a TOML file read into frozen dataclasses.

Unknown keys, wrong types and missing data files are :class:`ConfigError` s that
name the key (``sources[2].args.map_csv``) and the file. Relative paths, with
``${VARS}`` expanded first, are resolved against the config file's folder, so a
recipe can say ``map_csv = "../shared/data/phecode/phecode_map.csv"``.
Named recipes shipped in the package (``smoke``, ``hiprbert-mini``) load the same way.
"""

from __future__ import annotations

import tomllib
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from ehrfeat.errors import ConfigError
from ehrfeat.training.config_checks import check_anchors, check_bands, check_distill, check_pair_options
from ehrfeat.training.config_paths import resolve_dir, resolve_paths

__all__ = ["RECIPES", "RESERVED_SOURCE_NAMES", "LossConfig", "ModelConfig", "PairsConfig", "SourceConfig", "TrainConfig", "TrainingConfig", "load_config",
           "parse_config", "with_max_steps"]

RECIPES = ("smoke", "hiprbert-mini", "hiprbert-mini-v2", "hiprbert-mini-v3", "hiprbert-mini-v4")


@dataclass(frozen=True)
class ModelConfig:
    base: str = "minilm"  # "minilm", "tiny" (random BERT on the recipe's terms), a folder or a hub id
    pooling: str = "mean"  # "mean" or "cls"
    max_length: int = 25
    tiny_hidden: int = 32
    tiny_layers: int = 2
    init: str = ""  # a model folder to start the weights from; ``base`` stays the distillation teacher, merge target and comparison
    drop_layers: tuple[int, ...] = ()  # transformer layers (0-based) removed from the starting weights: a smaller, faster student
    freeze_layers: int = 0  # > 0: the embeddings and the bottom N transformer layers (after drop_layers) keep their starting weights


@dataclass(frozen=True)
class TrainingConfig:
    lr: float = 2e-5
    weight_decay: float = 0.01
    layer_lr_decay: float = 1.0  # < 1: each transformer layer trains at this times the lr of the one above (the top at lr)
    batch_size: int = 256
    epochs: int = 1
    max_steps: int = 0  # 0: the full schedule (``epochs`` passes); otherwise a cap
    synonym_weight: float = 1.0  # the synonym loader's share of steps, against each source's weight
    seed: int = 42
    save_every: int = 200
    device: str = "auto"  # "auto", "cpu" or "cuda"
    num_threads: int = 0  # 0: leave torch's default
    merge_with_base: float = 1.0  # WiSE-FT: the final weights are base + w * (fine-tuned - base); 1.0 keeps them
    distill_weight: float = 0.0  # > 0: add w * DistillLoss against the frozen base on every batch
    distill_weight_tree: float | None = None  # that weight in tree batches; None: distill_weight
    distill_shared_word: float = 0.0  # > 0: distillation weighs pairs that share a word (and are not trained together) 1 + this
    distill_shared_word_tree: float | None = None  # that focus in tree batches; None: distill_shared_word, 0: none
    anchor_weight: float = 0.0  # > 0: add w * mean(1 - cos(student, base)) over names drawn from anchor_sources, every step
    anchor_sources: tuple[str, ...] = ()  # the [[sources]] whose training-side preferred names are the anchors; (): every source
    anchor_size: int = 32  # names drawn per step
    sibling_synonyms: bool = False  # synonym batches gather groups of sibling concepts (same parent): hard negatives
    synonym_family: str = "parent"  # with sibling_synonyms, a family is one parent ("parent") or one head word of the name ("head_word")


@dataclass(frozen=True)
class LossConfig:
    alpha: float = 2.0
    beta: float = 50.0
    lambda_: float = 0.5
    lambdas: tuple[float, ...] = ()  # per far category 1, 2, 3...; overrides lambda when given
    synonym_alpha: float = 1.0
    synonym_beta: float = 60.0
    synonym_base: float = 0.5
    miner_margin: float = 0.2
    rank_weight: float = 0.0  # > 0: add w * RankLoss (per anchor, closer categories above farther ones); batches keep an anchor's pairs together
    rank_margin: float = 0.05  # in s = (cos + 1) / 2
    rank_gamma: float = 20.0


@dataclass(frozen=True)
class PairsConfig:
    k: int = 2  # pairs per category per anchor term
    depth_aware: bool = False  # category = hop distance in the tree, capped at depth_cap
    depth_cap: int = 3
    max_anchor_terms: int = 0  # 0: every term of every concept is an anchor
    heldout_fraction: float = 0.1
    eval_max_anchors: int = 1500  # held-out anchor codes per source (their preferred term is the anchor)
    eval_max_synonym_groups: int = 2000
    drop_phecode_siblings: bool = False  # training pairs of the ICD trees leave out category-1 partners under the anchor's phecode
    closer_phecode_siblings: bool = False  # ICD trees: 1 = close codes under the anchor's phecode (inherited from the nearest mapped ancestor), 2 = other close, 3 = parents, 4 = random
    phecode_members: int = 0  # with closer_phecode_siblings: codes drawn per ICD anchor from anywhere in its tree under its phecode, into category 1
    depth_shift: float = 0.0  # > 0: a tree pair's band moves up by this (in s) per level its codes' deepest common ancestor lies below the mean
    exclude_heldout_texts: bool = False  # training drops pairs and synonym strings whose text is a held-out concept's in any source
    qualifier_negatives: int = 0  # of each tree anchor's k random codes, this many share the qualifier its name adds to its parent's ("..., sequela")


@dataclass(frozen=True)
class SourceConfig:
    name: str
    reader: str
    weight: float = 1.0
    hierarchy: bool = True
    synonyms: bool = True
    synonym_weight: float = 1.0  # draws per pass of each synonym group holding this source's concepts (fractions by chance)
    lambdas: tuple[float, ...] = ()  # this source's own tree-loss bands (as loss.lambdas); () uses the loss's
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainConfig:
    sources: tuple[SourceConfig, ...]
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    loss: LossConfig = LossConfig()
    pairs: PairsConfig = PairsConfig()
    name: str = "ehrfeat"
    origin: str = ""  # the file or recipe it was read from

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["loss"]["lambda"] = out["loss"].pop("lambda_")
        out["sources"] = [dict(s) for s in out["sources"]]
        return out


# Names the training loop gives its own batches and losses: a source may not take them.
RESERVED_SOURCE_NAMES = {"synonyms": "synonym batches (batching.SYNONYMS)", "anchors": "anchor loss (training.anchor_weight)"}

_SECTIONS = {"model": ModelConfig, "training": TrainingConfig, "loss": LossConfig, "pairs": PairsConfig}
_TOP = {"name", "sources", "origin", *_SECTIONS}


# what a TOML user writes for each field type, for the E404 message
_TOML_KINDS: dict[type, str] = {
    tuple: "a list", bool: "true or false", int: "a whole number", float: "a number", str: "a string",
}


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a table, got {type(data).__name__}", code="E401")
    known = {f.name.rstrip("_"): f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(
            f"unknown key {where}.{unknown[0]}",
            fix=f"the keys of [{where}] are: {', '.join(sorted(known))}",
            code="E402",
        )
    values: dict[str, Any] = {}
    for key, f in known.items():
        if key not in data:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ConfigError(f"missing key {where}.{key}", code="E403")
            continue
        value = data[key]
        expected = type(f.default) if f.default is not MISSING else None
        if f.type == "float | None":  # a number, or null (as a run's recorded config holds it)
            expected = None if value is None else float
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if f.type == "tuple[str, ...]" and isinstance(value, list):
            if not all(isinstance(x, str) for x in value):
                raise ConfigError(f"{where}.{key} must be a list of strings, got {value!r}", code="E404")
            value = tuple(value)
        elif f.type == "tuple[int, ...]" and isinstance(value, list):
            if not all(isinstance(x, int) and not isinstance(x, bool) for x in value):
                raise ConfigError(f"{where}.{key} must be a list of whole numbers, got {value!r}", code="E404")
            value = tuple(value)
        elif expected is tuple and isinstance(value, list):
            if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value):
                raise ConfigError(f"{where}.{key} must be a list of numbers, got {value!r}", code="E404")
            value = tuple(float(x) for x in value)
        if expected is not None and expected is not type(None) and not isinstance(value, expected):
            raise ConfigError(f"{where}.{key} must be {_TOML_KINDS.get(expected, expected.__name__)}, got {value!r}", code="E404")
        values[f.name] = value
    return cls(**values)


def parse_config(data: dict[str, Any], base_dir: str | Path = ".", origin: str = "") -> TrainConfig:
    """Validate a config mapping (as read from TOML) and resolve its paths against ``base_dir``."""
    unknown = sorted(set(data) - _TOP)
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]}" + (f" in {origin}" if origin else ""), fix=f"top-level keys are: {', '.join(sorted(_TOP))}", code="E402")
    raw_sources = data.get("sources")
    if not isinstance(raw_sources, list) or not raw_sources:
        raise ConfigError("the config names no [[sources]]", fix="add at least one [[sources]] table with a reader", code="E403")
    base = Path(base_dir)
    sources = []
    for i, raw in enumerate(raw_sources):
        where = f"sources[{i}]"
        src = _build(SourceConfig, raw, where)
        if not isinstance(src.args, dict):
            raise ConfigError(f"{where}.args must be a table of reader arguments", fix=f"write [sources.args] under {where}", code="E404")
        if src.weight < 0 or src.synonym_weight < 0:
            raise ConfigError(f"{where}.weight and {where}.synonym_weight must be >= 0, got {src.weight}, {src.synonym_weight}", code="E404")
        sources.append(SourceConfig(**{**asdict(src), "args": resolve_paths(dict(src.args), base, where)}))
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConfigError(f"source names repeat: {names}", fix="give each [[sources]] a distinct name", code="E407")
    taken = sorted(set(names) & set(RESERVED_SOURCE_NAMES))
    if taken:
        raise ConfigError(f"a [[sources]] is named {taken[0]!r}, which training uses for its own "
                          f"{RESERVED_SOURCE_NAMES[taken[0]]}", fix=f"rename that source (e.g. {taken[0]}_terms)", code="E407")
    sections = {key: _build(cls, data.get(key, {}), key) for key, cls in _SECTIONS.items()}
    model: ModelConfig = sections["model"]
    training: TrainingConfig = sections["training"]
    if model.pooling not in ("mean", "cls"):
        raise ConfigError(f"model.pooling must be 'mean' or 'cls', got {model.pooling!r}", code="E404")
    if model.max_length < 2:
        raise ConfigError(f"model.max_length must be >= 2, got {model.max_length}", code="E404")
    if len(set(model.drop_layers)) != len(model.drop_layers) or any(i < 0 for i in model.drop_layers):
        raise ConfigError(f"model.drop_layers must list distinct layer numbers >= 0, got {list(model.drop_layers)}",
                          fix="e.g. drop_layers = [2] removes the third of the base's layers", code="E404")
    if model.freeze_layers < 0:
        raise ConfigError(f"model.freeze_layers must be >= 0, got {model.freeze_layers}",
                          fix="0 trains every weight; 2 keeps the embeddings and the bottom two layers", code="E404")
    if not 0.0 < training.layer_lr_decay <= 1.0:
        raise ConfigError(f"training.layer_lr_decay must be in (0, 1], got {training.layer_lr_decay}",
                          fix="1.0 trains every layer at training.lr; 0.5 halves the rate from each layer to the one below", code="E404")
    if model.drop_layers and training.merge_with_base != 1.0:
        raise ConfigError("model.drop_layers makes a smaller model than the base, which training.merge_with_base cannot merge with",
                          fix="leave merge_with_base at 1.0 or drop_layers out", code="E404")
    if training.batch_size < 2 or training.epochs < 1 or training.max_steps < 0:
        raise ConfigError("training.batch_size must be >= 2, epochs >= 1 and max_steps >= 0", code="E404")
    pairs_cfg: PairsConfig = sections["pairs"]
    far_categories = pairs_cfg.depth_cap if pairs_cfg.depth_aware else 3
    # closer_phecode_siblings gives the ICD trees one more far category; which sources those
    # are is known once they are read (build_training_data checks each pair set's bands then).
    allowed = (far_categories, far_categories + 1) if pairs_cfg.closer_phecode_siblings else (far_categories,)
    check_bands(sections["loss"].lambdas, "loss.lambdas", allowed)
    check_pair_options(pairs_cfg)
    for i, src in enumerate(sources):
        check_bands(src.lambdas, f"sources[{i}].lambdas", allowed)
    if not 0.0 < training.merge_with_base <= 1.0:
        raise ConfigError(
            f"training.merge_with_base must be in (0, 1], got {training.merge_with_base}",
            fix="1.0 keeps the fine-tuned weights; 0.6 moves them 40 % of the way back to the base",
            code="E404",
        )
    if training.synonym_family not in ("parent", "head_word"):
        raise ConfigError(f"training.synonym_family must be 'parent' or 'head_word', got {training.synonym_family!r}", code="E404")
    if training.synonym_family != "parent" and not training.sibling_synonyms:
        raise ConfigError("training.synonym_family chooses the families of training.sibling_synonyms, which is off",
                          fix="turn training.sibling_synonyms on, or leave synonym_family out", code="E404")
    check_distill(training)
    check_anchors(training, names)
    loss_cfg: LossConfig = sections["loss"]
    if loss_cfg.rank_weight < 0 or loss_cfg.rank_margin < 0 or loss_cfg.rank_gamma <= 0:
        raise ConfigError(
            f"loss.rank_weight and loss.rank_margin must be >= 0 and loss.rank_gamma > 0; got {loss_cfg.rank_weight}, "
            f"{loss_cfg.rank_margin}, {loss_cfg.rank_gamma}",
            fix="e.g. rank_weight = 1.0, rank_margin = 0.05, rank_gamma = 20.0 (rank_weight = 0 turns the rank loss off)",
            code="E404",
        )
    if model.init:
        sections["model"] = replace(model, init=str(resolve_dir(model.init, base)))
    if not 0.0 <= pairs_cfg.heldout_fraction < 1.0:
        raise ConfigError("pairs.heldout_fraction must be in [0, 1)", code="E404")
    return TrainConfig(sources=tuple(sources), name=str(data.get("name", "ehrfeat")), origin=origin, **sections)


def load_config(path_or_recipe: str | Path) -> TrainConfig:
    """Read a TOML file, or a recipe shipped in the package by name (``smoke``, ``hiprbert-mini``)."""
    text, base_dir, origin = _read(path_or_recipe)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin} is not valid TOML: {exc}", fix="correct the TOML syntax at that line (see `ehrfeat train smoke` "
                          "and the recipes in ehrfeat/training/recipes for the layout)", code="E401") from exc
    return parse_config(data, base_dir, origin)


def _read(path_or_recipe: str | Path) -> tuple[str, Path, str]:
    name = str(path_or_recipe)
    if name in RECIPES:
        resource = resources.files("ehrfeat.training") / "recipes" / f"{name.replace('-', '_')}.toml"
        # Recipes read ../shared/data relative to the working directory (the project root).
        return resource.read_text(encoding="utf-8"), Path.cwd(), f"recipe:{name}"
    path = Path(name).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"config file {path} does not exist",
            fix=f"pass a TOML file or one of the recipes: {', '.join(RECIPES)}",
            code="E406",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                          fix="save the config as UTF-8 (TOML files are UTF-8)", code="E401") from None
    return text, path.resolve().parent, str(path.resolve())


def with_max_steps(config: TrainConfig, max_steps: int | None) -> TrainConfig:
    """``config`` with ``training.max_steps`` replaced (``None`` keeps it)."""
    if max_steps is None:
        return config
    if max_steps < 0:
        raise ConfigError(f"max_steps must be >= 0, got {max_steps}", code="E404")
    return replace(config, training=replace(config.training, max_steps=max_steps))
