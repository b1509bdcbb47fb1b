"""LOINC from the release's ``Loinc.csv`` and ``MultiAxialHierarchy.csv``.

``Loinc.csv`` is quoted CSV with a header (``"LOINC_NUM","COMPONENT",...,
"LONG_COMMON_NAME","SHORTNAME","DisplayName","CONSUMER_NAME","STATUS",...``). The
name is ``LONG_COMMON_NAME``; ``SHORTNAME``, ``DisplayName`` and ``CONSUMER_NAME``
(when present and not empty) are synonyms. ``STATUS`` DEPRECATED terms are skipped
(ACTIVE, TRIAL and DISCOURAGED are kept).

``MultiAxialHierarchy.csv`` (``PATH_TO_ROOT,SEQUENCE,IMMEDIATE_PARENT,CODE,CODE_TEXT``)
links each code to its immediate parent; the LP part codes of its inner nodes
(``LP29693-6``) become LOINC concepts named by ``CODE_TEXT``. A code may sit
under several parents.
"""

from __future__ import annotations

import re
from pathlib import Path

from ehrfeat.codes import LOINC
from ehrfeat.errors import InputError
from ehrfeat.vocab.hierarchy import Hierarchy
from ehrfeat.vocab.readers._io import Skips, read_delimited, require_file
from ehrfeat.vocab.source import VocabSource
from ehrfeat.vocab.vocabulary import Vocabulary

__all__ = ["read_loinc"]

_LOINC_NUM = re.compile(r"^(LP|LA|LG|LL)?[0-9]{1,8}-[0-9]$", re.IGNORECASE)
_SYNONYM_COLUMNS = ("SHORTNAME", "DisplayName", "CONSUMER_NAME")


def _code(text: str) -> str | None:
    code = text.strip().upper()
    return code if _LOINC_NUM.match(code) else None


def read_loinc(loinc_csv: str | Path, hierarchy_csv: str | Path | None = None) -> VocabSource:
    """LOINC terms with their short and display names as synonyms, and the multiaxial hierarchy."""
    skips = Skips()
    vocab = Vocabulary()
    table = require_file(loinc_csv, "LOINC Loinc.csv")
    for row in read_delimited(table, ["LOINC_NUM", "LONG_COMMON_NAME", "STATUS"], delimiter=",", skips=skips):
        code = _code(row["LOINC_NUM"])
        if code is None:
            skips.add("malformed LOINC_NUM")
        elif row["STATUS"].strip().upper() == "DEPRECATED":
            skips.add("deprecated term")
        elif not row["LONG_COMMON_NAME"].strip():
            skips.add("term without LONG_COMMON_NAME")
        else:
            vocab.add(LOINC, code, row["LONG_COMMON_NAME"], [row.get(c) or "" for c in _SYNONYM_COLUMNS])
    hier = Hierarchy(LOINC)
    for concept in vocab:
        hier.add_node(concept.code)
    if hierarchy_csv is None:
        return VocabSource("LOINC", vocab, {LOINC: hier}, (), dict(skips))

    tree = require_file(hierarchy_csv, "LOINC MultiAxialHierarchy.csv")
    edges: list[tuple[str, str]] = []
    for row in read_delimited(tree, ["IMMEDIATE_PARENT", "CODE", "CODE_TEXT"], delimiter=",", skips=skips):
        code, parent_text = _code(row["CODE"]), row["IMMEDIATE_PARENT"].strip()
        parent = _code(parent_text) if parent_text else None
        if code is None or (parent_text and parent is None):
            skips.add("hierarchy row with a malformed code")
            continue
        if code.startswith("LP") and (LOINC, code) not in vocab:
            try:
                vocab.add(LOINC, code, row["CODE_TEXT"])
            except InputError:
                skips.add("part code without CODE_TEXT")
                continue
        if (LOINC, code) not in vocab:
            skips.add("hierarchy row for a term not in Loinc.csv (deprecated or absent)")
            continue
        hier.add_node(code)
        if parent is not None:
            edges.append((code, parent))
    for code, parent in edges:
        if (LOINC, parent) in vocab:
            hier.add_edge(code, parent)
        else:
            skips.add("hierarchy edge to a parent without a row")
    return VocabSource("LOINC", vocab, {LOINC: hier}, (), dict(skips))
