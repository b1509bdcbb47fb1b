"""From a config's ``[[sources]]`` to training pairs, synonym groups and the held-out set.

Each source names a reader (``icd10cm``, ``icd9cm``, ``phecode``, ``hpo``, ``mesh``,
``obograph``, ``sssom``, ``umls`` from :mod:`ehrfeat.vocab.readers`, or
``icd10cm_slice`` for the smoke recipe) and its arguments. All vocabularies are
merged, so a PheCode map finds its ICD descriptions and a MONDO mapping finds its
ICD-10-CM names. Every source's hierarchies give categorised pairs (PheCode
roll-ups give PheCode pairs); sources with ``synonyms = true`` give synonym
groups. One :class:`HeldOutSplit` decides, for training and evaluation alike,
which whole groups are held out; with ``pairs.exclude_heldout_texts`` training also
leaves out every text of a held-out group found in another source
(:mod:`ehrfeat.training.heldout_texts`). Torch-free.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ehrfeat.codes import PHECODE, Code
from ehrfeat.errors import ConfigError, EhrfeatError
from ehrfeat.training.anchor_bank import anchor_bank
from ehrfeat.training.config import TrainConfig
from ehrfeat.training.heldout_texts import drop_texts, heldout_texts
from ehrfeat.training.pairs import PairSet, build_hierarchy_pairs, inherit_groups
from ehrfeat.training.phecode_pairs import PHECODE_PREDICATES, build_phecode_pairs, phecode_of
from ehrfeat.training.synonyms import SynonymSet, build_synonym_groups
from ehrfeat.vocab import CodeMapping, Concept, Hierarchy, VocabSource, Vocabulary
from ehrfeat.vocab.splits import HeldOutSplit

WORD = re.compile(r"[^\W\d_]{3,}")  # a word of three letters or more (no digits)

__all__ = ["READERS", "WORD", "TrainingData", "build_training_data", "concept_families", "load_sources", "phecode_groups", "read_icd10cm_slice"]

logger = logging.getLogger(__name__)

READERS: dict[str, str] = {
    "icd10cm": "ehrfeat.vocab.readers:read_icd10cm",
    "icd9cm": "ehrfeat.vocab.readers:read_icd9cm",
    "phecode": "ehrfeat.vocab.readers:read_phecode",
    "hpo": "ehrfeat.vocab.readers:read_hpo",
    "mesh": "ehrfeat.vocab.readers:read_mesh",
    "obograph": "ehrfeat.vocab.readers:read_obograph",
    "sssom": "ehrfeat.vocab.readers:read_sssom",
    "umls": "ehrfeat.vocab.readers:read_umls",
    "icd10cm_slice": "ehrfeat.training.data_sources:read_icd10cm_slice",
}


def read_icd10cm_slice(blocks: Sequence[str] = ("E08-E13",), max_codes: int = 0) -> VocabSource:
    """ICD-10-CM codes under some blocks (installed ``simple_icd_10_cm``), inclusion terms as synonyms.

    Categories are the roots: blocks and chapters are not ICD-10-CM codes.
    """
    import simple_icd_10_cm as cm

    vocab = Vocabulary()
    hierarchy = Hierarchy("ICD10CM")
    for block in blocks:
        if not cm.is_valid_item(block):
            raise ConfigError(f"icd10cm_slice: {block!r} is not an ICD-10-CM block or chapter", fix="use block ids such as 'E08-E13'", code="E416")
        codes = [c for c in cm.get_descendants(block) if cm.is_category_or_subcategory(c)]
        for code in codes[: max_codes or None]:
            vocab.add("ICD10CM", code, cm.get_description(code), cm.get_inclusion_term(code))
            parent = cm.get_parent(code)
            if cm.is_category_or_subcategory(parent):
                hierarchy.add_edge(code, parent)
            else:
                hierarchy.add_node(code)
    return VocabSource(name="icd10cm_slice", vocabulary=vocab, hierarchies={"ICD10CM": hierarchy})


def _reader(name: str, where: str) -> Callable[..., VocabSource]:
    target = READERS.get(name)
    if target is None:
        raise ConfigError(f"{where}.reader: unknown reader {name!r}", fix=f"use one of: {', '.join(READERS)}", code="E408")
    module, _, func = target.partition(":")
    try:
        return getattr(importlib.import_module(module), func)  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"{where}.reader {name!r} is not available ({exc})",
            fix="install ehrfeat with the readers (ehrfeat.vocab.readers), or choose another reader",
            code="E409",
        ) from exc


def load_sources(config: TrainConfig) -> list[VocabSource]:
    """Run each source's reader with its (path-resolved) arguments."""
    out = []
    for i, src in enumerate(config.sources):
        reader = _reader(src.reader, f"sources[{i}]")
        try:
            source = reader(**src.args)
        except TypeError as exc:
            raise ConfigError(f"sources[{i}] ({src.name}): bad reader arguments: {exc}", code="E410") from exc
        logger.info("source %s: %s", src.name, source.summary())
        out.append(source)
    return out


@dataclass
class TrainingData:
    """Training pairs per source, training synonym groups, and their held-out counterparts."""

    pair_sets: list[PairSet]
    synonyms: SynonymSet
    eval_pairs: list[PairSet]
    eval_synonyms: SynonymSet
    weights: dict[str, float]
    source_summaries: list[dict[str, Any]]
    bands: dict[str, tuple[float, ...]] = field(default_factory=dict)  # pair-set name -> its own tree-loss bands
    anchors: tuple[str, ...] = ()  # names kept at the base's vectors (training.anchor_weight > 0)

    def terms(self) -> Iterator[str]:
        for ps in (*self.pair_sets, *self.eval_pairs):
            for p in ps.pairs:
                yield p.anchor
                yield p.other
        for group in (*self.synonyms.groups, *self.eval_synonyms.groups):
            yield from group

    def trained_texts(self) -> frozenset[str]:
        """Case-folded texts of every training pair and synonym group (what training sees, not the held-out side)."""
        texts = {t.casefold() for ps in self.pair_sets for p in ps.pairs for t in (p.anchor, p.other)}
        texts.update(t.casefold() for group in self.synonyms.groups for t in group)
        return frozenset(texts)

    def manifest(self) -> list[dict[str, Any]]:
        """Per-source pair counts and skips, for the checkpoint manifest."""
        evals = {ps.source: ps.summary() for ps in self.eval_pairs}
        rows: list[dict[str, Any]] = []
        for ps in self.pair_sets:
            row = {"name": ps.source, "weight": self.weights.get(ps.source, 1.0), "train": ps.summary(), "heldout": evals.get(ps.source)}
            rows.append({**row, "lambdas": list(self.bands[ps.source])} if ps.source in self.bands else row)
        rows.append({"name": "synonyms", "train": self.synonyms.summary(), "heldout": self.eval_synonyms.summary()})
        return rows


def _is_phecode_source(source: VocabSource) -> bool:
    return any(m.target.system == PHECODE and m.predicate in PHECODE_PREDICATES for m in source.mappings)


def concept_families(source: VocabSource, by: str = "parent") -> dict[Code, str]:
    """Each concept -> its family for sibling synonym batches.

    ``by="parent"``: ``SYSTEM:parent`` (the first parent in code order) for concepts with a
    parent in their system's hierarchy. ``by="head_word"``: ``head:word``, the last word of
    the preferred name before any comma (MeSH's inverted "Anemia, Hemolytic" -> anemia;
    "Eisenmenger Complex" -> complex), so names that share a generic head are negatives.
    """
    out: dict[Code, str] = {}
    if by == "head_word":
        for concept in source.vocabulary:
            words = WORD.findall(concept.terms[0].split(",", 1)[0].casefold()) if concept.terms else []
            if words:
                out[concept.ref] = f"head:{words[-1]}"
        return out
    for concept in source.vocabulary:
        hierarchy = source.hierarchies.get(concept.system)
        parents = sorted(hierarchy.parents(concept.code)) if hierarchy is not None and concept.code in hierarchy else []
        if parents:
            out[concept.ref] = f"{concept.system}:{parents[0]}"
    return out


def phecode_groups(sources: Sequence[VocabSource]) -> dict[str, dict[str, str]]:
    """system -> code -> the phecode it rolls up to, over every PheCode source."""
    out: dict[str, dict[str, str]] = {}
    for source in sources:
        if _is_phecode_source(source):
            for (system, code), phe in phecode_of(source.mappings).items():
                out.setdefault(system, {})[code] = phe
    return out


def _check_set_bands(pair_set: PairSet, i: int, config: TrainConfig) -> None:
    """A pair set's bands (its source's, else the loss's) give one threshold per far category of its pairs."""
    own = config.sources[i].lambdas
    lambdas = own or config.loss.lambdas
    far = pair_set.far_categories
    if lambdas and len(lambdas) != far:
        where = f"sources[{i}].lambdas" if own else "loss.lambdas"
        extra = " (pairs.closer_phecode_siblings adds one to the ICD trees)" if config.pairs.closer_phecode_siblings else ""
        raise ConfigError(f"the pairs of {pair_set.source} have {far} far categories{extra}, and {where} gives {len(lambdas)} thresholds",
                          fix=f"give sources[{i}].lambdas {far} thresholds (non-increasing), or use a single loss.lambda",
                          code="E1725")


def build_training_data(config: TrainConfig, sources: Sequence[VocabSource] | None = None) -> TrainingData:
    """Pairs and synonym groups for ``config`` (``sources`` read from the config when not given)."""
    sources = list(sources) if sources is not None else load_sources(config)
    if len(sources) != len(config.sources):
        raise ConfigError(f"{len(sources)} sources given for {len(config.sources)} [[sources]] in the config", code="E411")
    merged = Vocabulary()
    for source in sources:
        merged.update(source.vocabulary)
    pc, seed = config.pairs, config.training.seed
    split = HeldOutSplit(pc.heldout_fraction)
    train_sets: list[PairSet] = []
    eval_sets: list[PairSet] = []
    weights: dict[str, float] = {}
    bands: dict[str, tuple[float, ...]] = {}

    def _register(pair_set: PairSet, i: int) -> None:
        """A pair set's loader weight and, when its source (``config.sources[i]``) gives them, its own bands."""
        src_cfg = config.sources[i]
        weights[pair_set.source] = src_cfg.weight
        if src_cfg.lambdas:
            bands[pair_set.source] = src_cfg.lambdas
        _check_set_bands(pair_set, i, config)

    syn_concepts: list[Concept] = []
    syn_mappings: list[CodeMapping] = []
    weighted = any(s.synonym_weight != 1.0 for s in config.sources)
    syn_weights: dict[Code, float] | None = {} if weighted else None
    families: dict[Code, str] | None = {} if config.training.sibling_synonyms else None
    option = "drop_phecode_siblings" if pc.drop_phecode_siblings else "closer_phecode_siblings" if pc.closer_phecode_siblings else ""
    groups = phecode_groups(sources) if option else {}
    if option and not groups:
        raise ConfigError(f"pairs.{option} is on but no source maps codes to phecodes",
                          fix="add the phecode source (reader = \"phecode\"), or turn the option off", code="E1724")
    for i, (src_cfg, source) in enumerate(zip(config.sources, sources, strict=True)):
        if src_cfg.synonyms:
            syn_concepts.extend(source.vocabulary)
            syn_mappings.extend(source.mappings)
            if families is not None:
                families.update(concept_families(source, config.training.synonym_family))
            if syn_weights is not None:
                for concept in source.vocabulary:
                    syn_weights[concept.ref] = max(syn_weights.get(concept.ref, 0.0), src_cfg.synonym_weight)
        if not src_cfg.hierarchy:
            continue
        try:
            if _is_phecode_source(source):
                kw: dict[str, Any] = {"source": src_cfg.name, "k": pc.k, "split": split, "seed": seed}
                train_sets.append(build_phecode_pairs(merged, source.mappings, **kw))
                eval_sets.append(build_phecode_pairs(merged, source.mappings, heldout=True, max_anchors=pc.eval_max_anchors, **kw))
                _register(train_sets[-1], i)
                continue
            for system, hierarchy in source.hierarchies.items():
                name = src_cfg.name if len(source.hierarchies) == 1 else f"{src_cfg.name}/{system}"
                kw = {"source": name, "k": pc.k, "split": split, "seed": seed, "depth_aware": pc.depth_aware, "depth_cap": pc.depth_cap}
                closer = pc.closer_phecode_siblings and system in groups
                own = inherit_groups(hierarchy, groups[system]) if closer else groups.get(system)
                members = pc.phecode_members if closer else 0
                closed = frozenset(g for g in set(own.values()) if split.is_heldout(PHECODE, g)) if members and own else frozenset()
                train_sets.append(build_hierarchy_pairs(merged, hierarchy, max_anchor_terms=pc.max_anchor_terms, groups=own,
                                                        groups_closer=closer, members=members, closed_groups=closed,
                                                        record_depths=pc.depth_shift > 0, qualifier_negatives=pc.qualifier_negatives, **kw))
                eval_sets.append(build_hierarchy_pairs(merged, hierarchy, heldout=True, max_anchors=pc.eval_max_anchors, max_anchor_terms=1, **kw))
                _register(train_sets[-1], i)
        except EhrfeatError as exc:
            exc.message = f"{src_cfg.name}: {exc.message}"
            raise
    if not any(ps.pairs for ps in train_sets) and not syn_concepts:
        raise ConfigError("the sources give no training pairs and no synonyms", fix="check the [[sources]] of the config", code="E412")
    synonyms = build_synonym_groups(syn_concepts, merged, syn_mappings, split=split, seed=seed, concept_weights=syn_weights,
                                    family_of=families)
    held_groups = build_synonym_groups(syn_concepts, merged, syn_mappings, split=split, heldout=True, seed=seed)
    eval_syn = held_groups.sampled(pc.eval_max_synonym_groups, seed, heldout=True)
    anchoring = config.training.anchor_weight > 0
    if pc.exclude_heldout_texts or anchoring:
        all_mappings = [m for source in sources for m in source.mappings]
        texts = heldout_texts(merged, split, mappings=all_mappings, heldout_synonyms=held_groups)
    if pc.exclude_heldout_texts:
        train_sets, synonyms = drop_texts(train_sets, synonyms, texts)
        logger.info("held-out texts kept out of training: %d", len(texts))
    anchors: tuple[str, ...] = ()
    if anchoring:
        chosen = set(config.training.anchor_sources or (s.name for s in config.sources))
        anchors = anchor_bank((source for s, source in zip(config.sources, sources, strict=True) if s.name in chosen), split, texts)
        if not anchors:
            raise ConfigError(f"training.anchor_sources {sorted(chosen)} give no training-side name to anchor",
                              fix="name sources with concepts, or set training.anchor_weight = 0", code="E412")
        logger.info("anchor names: %d from %s", len(anchors), ", ".join(sorted(chosen)))
    summaries = [s.summary() for s in sources]
    for ps in train_sets:
        logger.info("pairs %s: %s", ps.source, ps.summary())
    logger.info("synonyms: %s (held out: %s)", synonyms.summary(), eval_syn.summary())
    return TrainingData(train_sets, synonyms, eval_sets, eval_syn, weights, summaries, bands, anchors)
