"""The cross-key checks of a training config: tree-loss bands, the [pairs] options that
exclude each other, distillation weights, anchors. Each raises :class:`ConfigError` naming the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ehrfeat.errors import ConfigError

if TYPE_CHECKING:
    from ehrfeat.training.config import PairsConfig, TrainingConfig

__all__ = ["MAX_DEPTH_SHIFT", "check_anchors", "check_bands", "check_distill", "check_pair_options"]

MAX_DEPTH_SHIFT = 0.05  # per level; three levels of it already span a band


def check_pair_options(pairs_cfg: PairsConfig) -> None:
    """The phecode options of [pairs]: one at a time, and only on the tree's own categories;
    ``depth_shift`` small and only on the tree's own categories too."""
    if not 0.0 <= pairs_cfg.depth_shift <= MAX_DEPTH_SHIFT:
        raise ConfigError(f"pairs.depth_shift must be in [0, {MAX_DEPTH_SHIFT}], got {pairs_cfg.depth_shift}",
                          fix="it moves a band per tree level (in s = (cos + 1) / 2): e.g. 0.01, or 0 for fixed bands", code="E404")
    if pairs_cfg.depth_shift and pairs_cfg.depth_aware:
        raise ConfigError("pairs.depth_shift moves the bands of the tree's own categories; with pairs.depth_aware the "
                          "categories are hop distances", fix="turn one of pairs.depth_shift and pairs.depth_aware off", code="E404")
    if not 0 <= pairs_cfg.qualifier_negatives <= pairs_cfg.k:
        raise ConfigError(f"pairs.qualifier_negatives must be in [0, pairs.k = {pairs_cfg.k}], got {pairs_cfg.qualifier_negatives}",
                          fix="it draws that many of an anchor's k random codes from those sharing its qualifier: e.g. 1, or 0 for none",
                          code="E404")
    if pairs_cfg.drop_phecode_siblings and pairs_cfg.closer_phecode_siblings:
        raise ConfigError("pairs.drop_phecode_siblings leaves out the close codes under the anchor's phecode and "
                          "pairs.closer_phecode_siblings gives them their own category; both cannot hold",
                          fix="turn one of the two off", code="E404")
    if pairs_cfg.phecode_members < 0:
        raise ConfigError(f"pairs.phecode_members must be >= 0, got {pairs_cfg.phecode_members}",
                          fix="give the codes to draw per ICD anchor (e.g. 2), or 0 for none", code="E404")
    if pairs_cfg.phecode_members and not pairs_cfg.closer_phecode_siblings:
        raise ConfigError("pairs.phecode_members draws into the category pairs.closer_phecode_siblings makes, which is off",
                          fix="turn pairs.closer_phecode_siblings on, or set phecode_members = 0", code="E404")
    for option in ("drop_phecode_siblings", "closer_phecode_siblings"):
        if getattr(pairs_cfg, option) and pairs_cfg.depth_aware:
            raise ConfigError(f"pairs.{option} works on category 1 (children and siblings); with pairs.depth_aware "
                              "the categories are hop distances and it would do nothing",
                              fix=f"turn one of pairs.{option} and pairs.depth_aware off", code="E404")


def check_distill(training: TrainingConfig) -> None:
    """Distillation weights: >= 0 numbers, and a shared-word focus only on top of a distillation weight (per batch kind)."""
    weight, tree_weight = training.distill_weight, training.distill_weight if training.distill_weight_tree is None else training.distill_weight_tree
    focus, tree = training.distill_shared_word, training.distill_shared_word if training.distill_shared_word_tree is None else training.distill_shared_word_tree
    if min(weight, tree_weight, focus, tree) < 0 or (focus and not weight) or (tree and not tree_weight):
        raise ConfigError(f"training.distill_weight, distill_weight_tree, distill_shared_word and distill_shared_word_tree must be "
                          f">= 0 (a focus needs a weight in its batches), got {training.distill_weight}, "
                          f"{training.distill_weight_tree}, {training.distill_shared_word}, {training.distill_shared_word_tree}",
                          fix="0 turns distillation off", code="E404")


def check_bands(lambdas: tuple[float, ...], where: str, far_categories: tuple[int, ...]) -> None:
    """Tree-loss bands: thresholds in (0, 1], non-increasing, one per far category."""
    if not lambdas:
        return
    if not all(0.0 < x <= 1.0 for x in lambdas) or list(lambdas) != sorted(lambdas, reverse=True):
        raise ConfigError(
            f"{where} must be thresholds in (0, 1], one per far category (1, 2, ...), non-increasing; got {list(lambdas)}",
            fix="e.g. lambdas = [0.9, 0.8, 0.68]: synonyms above 0.9, category 1 between 0.8 and 0.9, ...",
            code="E404",
        )
    if len(lambdas) not in far_categories:
        counts = " or ".join(map(str, far_categories))
        raise ConfigError(f"{where} gives {len(lambdas)} thresholds; the pairs have {counts} far categories",
                          fix=f"give one threshold per far category ({counts} in all), or a single lambda", code="E404")


def check_anchors(training: TrainingConfig, source_names: Sequence[str]) -> None:
    """``anchor_weight`` >= 0, ``anchor_size`` >= 1, and ``anchor_sources`` among the config's [[sources]]."""
    if training.anchor_weight < 0 or training.anchor_size < 1:
        raise ConfigError(f"training.anchor_weight must be >= 0 and training.anchor_size >= 1, got {training.anchor_weight}, "
                          f"{training.anchor_size}", fix="e.g. anchor_weight = 10.0, anchor_size = 32 (anchor_weight = 0 turns anchors off)",
                          code="E404")
    unknown = [name for name in training.anchor_sources if name not in source_names]
    if unknown:
        raise ConfigError(f"training.anchor_sources names {unknown[0]!r}, which is not one of the config's [[sources]]",
                          fix=f"choose among: {', '.join(source_names)} (or leave anchor_sources out for every source)", code="E404")
    if training.anchor_sources and not training.anchor_weight:
        raise ConfigError("training.anchor_sources chooses the names training.anchor_weight keeps in place, and that weight is 0",
                          fix="set training.anchor_weight > 0, or leave anchor_sources out", code="E404")
