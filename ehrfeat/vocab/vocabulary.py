"""Vocabularies: code -> preferred term and synonyms, for one or several code systems."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ehrfeat.codes import Code, canonical_system, normalize_code
from ehrfeat.errors import InputError

__all__ = ["Concept", "Vocabulary"]


@dataclass(frozen=True)
class Concept:
    """One code with its preferred term and its other strings (synonyms, inclusion terms)."""

    system: str
    code: str
    name: str
    synonyms: tuple[str, ...] = ()

    @property
    def ref(self) -> Code:
        return Code(self.system, self.code)

    @property
    def terms(self) -> tuple[str, ...]:
        """The preferred term first, then each distinct synonym (case-insensitive)."""
        seen = {self.name.casefold()}
        out = [self.name]
        for syn in self.synonyms:
            key = syn.casefold()
            if key not in seen:
                seen.add(key)
                out.append(syn)
        return tuple(out)


def _clean_text(text: object) -> str:
    return " ".join(str(text).split())


class Vocabulary:
    """Concepts keyed by canonical ``(system, code)``, with aliases between codes.

    Codes are normalised on the way in and on lookup, so ``vocab.get("icd10", "e119")``
    finds ``ICD10CM:E11.9``. An alias makes one code resolve to another, e.g. an
    OMOP concept id to its ``SNOMED/concept_code``.
    """

    def __init__(self, concepts: Iterable[Concept] = ()) -> None:
        self._concepts: dict[Code, Concept] = {}
        self._aliases: dict[Code, Code] = {}
        for concept in concepts:
            self.add(concept.system, concept.code, concept.name, concept.synonyms)

    # -- building -----------------------------------------------------------
    def add(self, system: str, code: object, name: str, synonyms: Iterable[str] = ()) -> Concept:
        """Add a concept, or merge ``synonyms`` (and keep the first name) if it exists."""
        ref = Code.parse(system, code)
        name = _clean_text(name)
        if not name:
            raise InputError(f"{ref} has an empty name", fix="give every concept a preferred term", code="E104")
        syns = tuple(s for s in (_clean_text(x) for x in synonyms) if s)
        old = self._concepts.get(ref)
        if old is not None:
            extra = (name, *syns) if name != old.name else syns  # a second name is kept as a synonym
            merged = old.synonyms + tuple(dict.fromkeys(s for s in extra if s not in old.synonyms and s != old.name))
            concept = Concept(ref.system, ref.code, old.name, merged)
        else:
            concept = Concept(ref.system, ref.code, name, tuple(dict.fromkeys(s for s in syns if s != name)))
        self._concepts[ref] = concept
        return concept

    def add_alias(self, system: str, code: object, target: Code) -> None:
        """Make ``(system, code)`` resolve to the concept ``target``."""
        self._aliases[Code.parse(system, code)] = target

    def copy(self) -> Vocabulary:
        """A vocabulary with the same concepts and aliases (concepts are frozen: nothing is parsed again)."""
        out = Vocabulary()
        out._concepts = dict(self._concepts)
        out._aliases = dict(self._aliases)
        return out

    def update(self, other: Vocabulary) -> None:
        """Merge another vocabulary into this one."""
        for concept in other:
            self.add(concept.system, concept.code, concept.name, concept.synonyms)
        self._aliases.update(other._aliases)

    # -- lookup -------------------------------------------------------------
    def get(self, system: str, code: object) -> Concept | None:
        """The concept for a code in any accepted form, following aliases; ``None`` if unknown."""
        try:
            ref = Code.parse(system, code)
        except InputError:
            return None
        concept = self._concepts.get(ref)
        if concept is None and ref in self._aliases:
            concept = self._concepts.get(self._aliases[ref])
        return concept

    def __getitem__(self, key: tuple[str, object]) -> Concept:
        concept = self.get(*key)
        if concept is None:
            raise KeyError(key)
        return concept

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and len(key) == 2 and self.get(*key) is not None

    def __iter__(self) -> Iterator[Concept]:
        return iter(self._concepts.values())

    def __len__(self) -> int:
        return len(self._concepts)

    @property
    def systems(self) -> tuple[str, ...]:
        return tuple(sorted({ref.system for ref in self._concepts}))

    def concepts(self, system: str | None = None) -> Iterator[Concept]:
        """Concepts of one system (or all)."""
        wanted = canonical_system(system) if system else None
        return (c for c in self._concepts.values() if wanted is None or c.system == wanted)

    def codes(self, system: str) -> list[str]:
        return [c.code for c in self.concepts(system)]

    def name(self, system: str, code: object) -> str | None:
        concept = self.get(system, code)
        return concept.name if concept else None

    def name_table(self, system: str) -> dict[str, str]:
        """Every code of ``system``, and every alias of one, -> its concept's name (canonical codes)."""
        wanted = canonical_system(system)
        table = {c.code: c.name for c in self.concepts(wanted)}
        for alias, target in self._aliases.items():
            if alias.system == wanted and target in self._concepts:
                table.setdefault(alias.code, self._concepts[target].name)
        return table

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} concepts, systems={list(self.systems)})"


def normalize_or_none(system: str, code: object) -> str | None:
    """``normalize_code`` that answers ``None`` instead of raising."""
    try:
        return normalize_code(system, code)
    except InputError:
        return None
