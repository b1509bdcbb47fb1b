"""MeSH descriptors from two TSV exports of the NLM XML.

- terms (``DescriptorUI, DescriptorName, ConceptUI, TermUI, TermName, ...``): one
  row per entry term; the descriptor is the concept, every entry term of every
  concept under it is a synonym.
- trees (``DescriptorUI, DescriptorName, tree_location``): a descriptor may sit
  at several tree numbers. The parent of ``C18.452.394.750`` is the descriptor at
  ``C18.452.394``; a tree number whose parent tree number is not listed (the
  category letters, ``C04``) makes its descriptor a root there.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ehrfeat.codes import MESH
from ehrfeat.errors import InputError
from ehrfeat.vocab.hierarchy import Hierarchy
from ehrfeat.vocab.readers._io import Skips, read_delimited, require_file
from ehrfeat.vocab.source import VocabSource
from ehrfeat.vocab.vocabulary import Vocabulary

__all__ = ["read_mesh"]

log = logging.getLogger(__name__)


def read_mesh(terms_tsv: str | Path, trees_tsv: str | Path | None = None) -> VocabSource:
    """MeSH descriptors with entry terms as synonyms and the tree-number hierarchy."""
    skips = Skips()
    vocab = Vocabulary()
    terms = require_file(terms_tsv, "MeSH terms TSV")
    for row in read_delimited(terms, ["DescriptorUI", "DescriptorName", "TermName"], skips=skips):
        term = row["TermName"].strip()
        try:
            vocab.add(MESH, row["DescriptorUI"], row["DescriptorName"], [term] if term else [])
        except InputError:
            skips.add("term row without a descriptor id or name")

    hier = Hierarchy(MESH)
    for concept in vocab:
        hier.add_node(concept.code)
    if trees_tsv is None:
        return VocabSource("MeSH", vocab, {MESH: hier}, (), dict(skips))

    at_tree: dict[str, str] = {}
    trees = require_file(trees_tsv, "MeSH tree numbers TSV")
    for row in read_delimited(trees, ["DescriptorUI", "DescriptorName", "tree_location"], skips=skips):
        tree = row["tree_location"].strip()
        try:
            concept = vocab.add(MESH, row["DescriptorUI"], row["DescriptorName"])
        except InputError:
            skips.add("tree row without a descriptor id or name")
            continue
        if not tree:
            skips.add("tree row without a tree number")
            continue
        at_tree[tree] = concept.code
        hier.add_node(concept.code)
    roots = 0
    for tree, code in at_tree.items():
        parent_tree = tree.rpartition(".")[0]
        if parent_tree in at_tree:
            hier.add_edge(code, at_tree[parent_tree])
        else:
            roots += 1
    log.info("MeSH: %d descriptors, %d tree numbers, %d top tree numbers", len(vocab), len(at_tree), roots)
    return VocabSource("MeSH", vocab, {MESH: hier}, (), dict(skips))
