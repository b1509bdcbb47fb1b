"""PheCode 1.2 from the PheWAS CSV exports.

- ``pheinfo.csv`` (``phecode,description,groupnum,group,color``): the concepts.
- ``phecode_map.csv`` (``vocabulary_id,code,phecode``): ICD-9-CM / ICD-10-CM codes
  that roll up to a phecode, returned as ``CodeMapping(predicate="rollsUpTo")``.
- ``phecode_rollup_map.csv`` (``code,phecode_unrolled``, optional): each phecode
  with all its ancestors (itself included). The direct parent is the ancestor
  that is not an ancestor of another one. Without it, the hierarchy follows the
  decimals: ``250.21`` -> ``250.2`` -> ``250`` (to the nearest listed phecode).

Phecodes named in the maps but not in ``pheinfo.csv`` stay hierarchy nodes and
mapping targets, without a vocabulary concept; they are counted in ``skipped``.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from ehrfeat.codes import PHECODE, Code, canonical_system, normalize_code
from ehrfeat.errors import InputError
from ehrfeat.vocab.hierarchy import Hierarchy
from ehrfeat.vocab.readers._io import Skips, read_delimited, require_file
from ehrfeat.vocab.source import CodeMapping, VocabSource
from ehrfeat.vocab.vocabulary import Vocabulary

__all__ = ["decimal_parent", "read_phecode"]

ROLLS_UP_TO = "rollsUpTo"


def decimal_parent(code: str, known: set[str]) -> str | None:
    """The nearest shorter phecode in ``known``: ``250.21`` -> ``250.2`` (or ``250``)."""
    head, _, tail = code.partition(".")
    for cut in range(len(tail) - 1, -1, -1):
        cand = f"{head}.{tail[:cut]}" if cut else head
        if cand in known:
            return cand
    return None


def _rollup_parents(ancestors: dict[str, set[str]]) -> dict[str, list[str]]:
    """Direct parents: the ancestors of a code that are not ancestors of another of its ancestors."""
    parents: dict[str, list[str]] = {}
    for code, ups in ancestors.items():
        indirect = set().union(*(ancestors.get(a, set()) for a in ups))
        parents[code] = sorted(ups - indirect)
    return parents


def read_phecode(map_csv: str | Path, pheinfo_csv: str | Path, rollup_csv: str | Path | None = None) -> VocabSource:
    """PheCode concepts, their hierarchy and the ICD -> phecode roll-up mappings."""
    skips = Skips()
    vocab = Vocabulary()
    info = require_file(pheinfo_csv, "PheCode pheinfo.csv")
    for row in read_delimited(info, ["phecode", "description"], delimiter=",", skips=skips):
        try:
            vocab.add(PHECODE, row["phecode"], row["description"])
        except InputError:
            skips.add("pheinfo row with a malformed phecode or no description")

    mappings: dict[CodeMapping, None] = {}
    phecodes: set[str] = {c.code for c in vocab}
    mapped = require_file(map_csv, "PheCode phecode_map.csv")
    for row in read_delimited(mapped, ["vocabulary_id", "code", "phecode"], delimiter=",", skips=skips):
        try:
            source = Code.parse(canonical_system(row["vocabulary_id"]), row["code"])
            target = Code(PHECODE, normalize_code(PHECODE, row["phecode"]))
        except InputError:
            skips.add("map row with a malformed code (e.g. an ICD-10 block range A00-A09)")
            continue
        mappings[CodeMapping(source, target, ROLLS_UP_TO)] = None
        phecodes.add(target.code)

    hier = Hierarchy(PHECODE)
    if rollup_csv is not None:
        ancestors: dict[str, set[str]] = defaultdict(set)
        rollup = require_file(rollup_csv, "PheCode phecode_rollup_map.csv")
        for row in read_delimited(rollup, ["code", "phecode_unrolled"], delimiter=",", skips=skips):
            try:
                code, up = normalize_code(PHECODE, row["code"]), normalize_code(PHECODE, row["phecode_unrolled"])
            except InputError:
                skips.add("rollup row with a malformed phecode")
                continue
            ancestors[code].add(up)
            ancestors.setdefault(up, set())
        for code in ancestors:
            ancestors[code].discard(code)
        for code, parents in _rollup_parents(ancestors).items():
            hier.add_node(code)
            for parent in parents:
                hier.add_edge(code, parent)
        for code in phecodes - ancestors.keys():
            hier.add_node(code)
        phecodes.update(ancestors)
    else:
        for node in sorted(phecodes):
            hier.add_node(node)
            nearest = decimal_parent(node, phecodes)
            if nearest is not None:
                hier.add_edge(node, nearest)
    unnamed = sum(1 for code in phecodes if (PHECODE, code) not in vocab)
    if unnamed:
        skips.add("phecode without a description in pheinfo.csv (hierarchy node and mapping target only)", unnamed)
    return VocabSource("PheCode 1.2", vocab, {PHECODE: hier}, tuple(mappings), dict(skips))
