"""OBO Graphs JSON (``.json`` or ``.json.gz``), as ROBOT and the OBO Foundry publish them.

``{"graphs": [{"nodes": [...], "edges": [...]}, ...]}``; a node has an ``id`` URI
(``http://purl.obolibrary.org/obo/DOID_8718``, ``http://www.orpha.net/ORDO/Orphanet_125``),
``lbl``, ``type`` and ``meta`` (``synonyms`` with ``pred``, ``deprecated``); an edge
is ``sub``/``pred``/``obj`` and ``is_a`` edges give the hierarchy.

The system comes from the id prefix (DOID, NCIT, Orphanet, MONDO, HP -> HPO);
codes of ontologies without a normaliser keep their prefix (``DOID:8718``).
Kept: classes of that system with a label. Counted as skipped: deprecated nodes
(``meta.deprecated``, an ``OBSOLETE:`` label or ``is_a`` ObsoleteClass as in
ORDO), property nodes, imported classes of other systems, ``is_a`` edges leaving
the kept classes. Only ``hasExactSynonym`` synonyms are kept.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from ehrfeat.codes import Code
from ehrfeat.errors import InputError, VocabularyError
from ehrfeat.vocab.hierarchy import Hierarchy
from ehrfeat.vocab.readers._io import Skips, curie_to_code, decode_error, open_text, require_file
from ehrfeat.vocab.source import VocabSource
from ehrfeat.vocab.vocabulary import Vocabulary

__all__ = ["read_obograph"]

_EXACT = {"hasExactSynonym", "http://www.geneontology.org/formats/oboInOwl#hasExactSynonym"}


def _load(path: Path) -> list[dict[str, Any]]:
    try:
        with open_text(path) as fh:
            doc = json.load(fh)
    except UnicodeDecodeError as exc:
        raise decode_error(path, exc, "UTF-8") from None
    except (json.JSONDecodeError, OSError, EOFError) as exc:
        raise VocabularyError(
            f"{path} is not an OBO Graphs JSON file: {exc}",
            fix="pass a .json or .json.gz OBO Graphs file (robot convert --format json)",
            code="E112",
        ) from None
    graphs = doc.get("graphs") if isinstance(doc, dict) else None
    if not isinstance(graphs, list) or not graphs or not all(isinstance(g, dict) for g in graphs):
        raise VocabularyError(
            f"{path} has no 'graphs' list",
            fix='pass an OBO Graphs JSON file: {"graphs": [{"nodes": [...], "edges": [...]}]}',
            code="E112",
        )
    return graphs


def _deprecated(node: dict[str, Any]) -> bool:
    meta = node.get("meta") or {}
    return bool(meta.get("deprecated")) or str(node.get("lbl", "")).lower().startswith("obsolete")


def read_obograph(path: str | Path, system: str | None = None) -> VocabSource:
    """Classes, exact synonyms and ``is_a`` hierarchy of one ontology in OBO Graphs JSON.

    ``system`` (e.g. ``"DOID"``) defaults to the most common id prefix of the first graph's classes.
    """
    p = require_file(path, "OBO Graphs JSON")
    graphs = _load(p)
    skips = Skips()
    classes: list[tuple[Code, dict[str, Any]]] = []
    for graph in graphs:
        for node in graph.get("nodes", []):
            if node.get("type", "CLASS") != "CLASS":
                skips.add("not a class (property or individual)")
                continue
            try:
                classes.append((curie_to_code(str(node.get("id", ""))), node))
            except (InputError, VocabularyError):
                skips.add("node without a recognisable id")
    if not classes:
        raise VocabularyError(
            f"{p} has no class nodes",
            fix="pass an OBO Graphs JSON file whose graphs hold nodes of type CLASS",
            code="E112",
        )
    first = {id(n) for n in graphs[0].get("nodes", [])}
    counts = Counter(ref.system for ref, node in classes if id(node) in first) or Counter(
        ref.system for ref, _ in classes
    )
    wanted = curie_to_code(f"{system}:0").system if system else counts.most_common(1)[0][0]

    obsolete_parents = {
        str(e.get("sub"))
        for g in graphs
        for e in g.get("edges", [])
        if e.get("pred") == "is_a" and str(e.get("obj", "")).endswith("ObsoleteClass")
    }
    vocab = Vocabulary()
    hier = Hierarchy(wanted)
    kept: dict[str, str] = {}  # node URI -> code
    for ref, node in classes:
        if ref.system != wanted:
            skips.add("class of another system (import)")
        elif _deprecated(node) or node["id"] in obsolete_parents:
            skips.add("deprecated class")
        elif not str(node.get("lbl", "")).strip():
            skips.add("class without a label")
        else:
            syns = [s.get("val", "") for s in (node.get("meta") or {}).get("synonyms", []) if s.get("pred") in _EXACT]
            vocab.add(ref.system, ref.code, node["lbl"], syns)
            hier.add_node(ref.code)
            kept[node["id"]] = ref.code
    for graph in graphs:
        for edge in graph.get("edges", []):
            if edge.get("pred") != "is_a":
                continue
            child, parent = kept.get(str(edge.get("sub"))), kept.get(str(edge.get("obj")))
            if child is not None and parent is not None:
                hier.add_edge(child, parent)
            elif child is not None:
                skips.add("is_a edge to a class outside the vocabulary")
    return VocabSource(f"OBO Graphs {p.name}", vocab, {wanted: hier}, (), dict(skips))
