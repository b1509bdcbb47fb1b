"""OMOP vocabularies: an Athena download folder (or a CDM CSV export).

Files: ``CONCEPT.csv`` (required), ``CONCEPT_RELATIONSHIP.csv``,
``CONCEPT_ANCESTOR.csv`` and ``CONCEPT_SYNONYM.csv`` (optional). Athena writes them
TAB-separated and unquoted; CDM exports (Eunomia) write them comma-separated
and quoted: the delimiter is detected from the header line.

Concepts are keyed by ``(canonical_system(vocabulary_id), concept_code)`` (SNOMED
``44054006``, ICD10CM ``E11.9``) and each ``concept_id`` is an alias
``("OMOP", concept_id)`` of its concept, so both resolve. Concepts with an
``invalid_reason`` (D deleted, U upgraded) are skipped unless
``include_invalid=True``. The hierarchy of each vocabulary is the union of
``CONCEPT_ANCESTOR`` rows with ``min_levels_of_separation == 1`` and valid
``Is a`` relationships; edges between two vocabularies are counted, not kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from ehrfeat.codes import OMOP, Code
from ehrfeat.errors import InputError
from ehrfeat.vocab.hierarchy import Hierarchy
from ehrfeat.vocab.readers._io import Skips, read_delimited, require_file
from ehrfeat.vocab.source import VocabSource
from ehrfeat.vocab.vocabulary import Vocabulary

__all__ = ["AthenaBuilder", "read_athena"]

CONCEPT_COLUMNS = ("concept_id", "concept_name", "vocabulary_id", "concept_code", "invalid_reason")
RELATIONSHIP_COLUMNS = ("concept_id_1", "concept_id_2", "relationship_id")
ANCESTOR_COLUMNS = ("ancestor_concept_id", "descendant_concept_id", "min_levels_of_separation")
SYNONYM_COLUMNS = ("concept_id", "concept_synonym_name")

Row = Mapping[str, object]


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _id(value: object) -> str:
    text = _text(value)
    return text[:-2] if text.endswith(".0") else text  # ids read as floats by some exports


class AthenaBuilder:
    """Builds a :class:`VocabSource` from OMOP vocabulary rows (files or a database)."""

    def __init__(self, *, include_invalid: bool = False) -> None:
        self.include_invalid = include_invalid
        self.vocab = Vocabulary()
        self.skips = Skips()
        self.by_id: dict[str, Code] = {}
        self.hierarchies: dict[str, Hierarchy] = {}

    def add_concepts(self, rows: Iterable[Row]) -> None:
        for row in rows:
            invalid = _text(row.get("invalid_reason"))
            if invalid and not self.include_invalid:
                self.skips.add(f"invalid concept (invalid_reason {invalid})")
                continue
            try:
                concept = self.vocab.add(
                    _text(row.get("vocabulary_id")), _text(row.get("concept_code")), _text(row.get("concept_name"))
                )
                self.vocab.add_alias(OMOP, _id(row.get("concept_id")), concept.ref)
            except InputError:
                self.skips.add("concept with a malformed id, vocabulary, code or an empty name")
                continue
            self.by_id[_id(row.get("concept_id"))] = concept.ref

    def _edge(self, child_id: object, parent_id: object) -> None:
        child, parent = self.by_id.get(_id(child_id)), self.by_id.get(_id(parent_id))
        if child is None or parent is None:
            self.skips.add("hierarchy edge to a concept not in CONCEPT")
        elif child.system != parent.system:
            self.skips.add("hierarchy edge between two vocabularies")
        else:
            hier = self.hierarchies.get(child.system)
            if hier is None:
                hier = self.hierarchies[child.system] = Hierarchy(child.system)
            hier.add_edge(child.code, parent.code)

    def add_relationships(self, rows: Iterable[Row]) -> None:
        """``Is a`` rows: ``concept_id_1`` is a ``concept_id_2``; other relationships are not read."""
        for row in rows:
            if _text(row.get("relationship_id")) != "Is a":
                continue
            if _text(row.get("invalid_reason")):
                self.skips.add("invalid 'Is a' relationship")
                continue
            self._edge(row.get("concept_id_1"), row.get("concept_id_2"))

    def add_ancestors(self, rows: Iterable[Row]) -> None:
        for row in rows:
            if _id(row.get("min_levels_of_separation")) == "1":
                self._edge(row.get("descendant_concept_id"), row.get("ancestor_concept_id"))

    def add_synonyms(self, rows: Iterable[Row]) -> None:
        for row in rows:
            ref = self.by_id.get(_id(row.get("concept_id")))
            name = _text(row.get("concept_synonym_name"))
            if ref is None:
                self.skips.add("synonym of a concept not in CONCEPT")
            elif not name:
                self.skips.add("empty synonym")
            else:
                concept = self.vocab.get(ref.system, ref.code)
                if concept is not None:
                    self.vocab.add(ref.system, ref.code, concept.name, [name])

    def source(self, name: str) -> VocabSource:
        hierarchies = dict(self.hierarchies)
        for concept in self.vocab:
            hier = hierarchies.get(concept.system)
            if hier is None:
                hier = hierarchies[concept.system] = Hierarchy(concept.system)
            hier.add_node(concept.code)
        return VocabSource(name, self.vocab, hierarchies, (), dict(self.skips))


def _find(folder: Path, name: str) -> Path | None:
    """``name`` in ``folder``, its case ignored (CONCEPT.csv, concept.csv)."""
    for p in folder.iterdir():
        if p.is_file() and p.name.lower() == name.lower():
            return p
    return None


def read_athena(folder: str | Path, *, include_invalid: bool = False) -> VocabSource:
    """Concepts, synonyms and per-vocabulary hierarchies of an Athena download folder."""
    root = Path(folder).expanduser()
    found = _find(root, "CONCEPT.csv") if root.is_dir() else None
    fix = f"pass the folder of an Athena download (holding CONCEPT.csv), not {root}"
    concept = require_file(found or root / "CONCEPT.csv", "OMOP CONCEPT.csv", fix=fix)
    builder = AthenaBuilder(include_invalid=include_invalid)
    builder.add_concepts(read_delimited(concept, CONCEPT_COLUMNS, skips=builder.skips))
    optional = (
        ("CONCEPT_ANCESTOR.csv", ANCESTOR_COLUMNS, builder.add_ancestors),
        ("CONCEPT_RELATIONSHIP.csv", RELATIONSHIP_COLUMNS, builder.add_relationships),
        ("CONCEPT_SYNONYM.csv", SYNONYM_COLUMNS, builder.add_synonyms),
    )
    for name, columns, add in optional:
        path = _find(root, name)
        if path is not None:
            add(read_delimited(path, columns, skips=builder.skips))
    return builder.source(f"OMOP vocabularies {root.name}")
