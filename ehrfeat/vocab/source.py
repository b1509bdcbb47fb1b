"""What a reader returns: concepts, hierarchies and cross-system mappings of one source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ehrfeat.codes import Code
from ehrfeat.vocab.hierarchy import Hierarchy
from ehrfeat.vocab.vocabulary import Vocabulary

__all__ = ["CodeMapping", "VocabSource"]


@dataclass(frozen=True)
class CodeMapping:
    """``source`` maps to ``target`` (e.g. an ICD-10-CM code rolls up to a phecode)."""

    source: Code
    target: Code
    predicate: str = "exactMatch"


@dataclass(frozen=True)
class VocabSource:
    """One vocabulary source as read from its files.

    ``skipped`` counts rows a reader could not use, by reason (never silently
    dropped): e.g. ``{"no name": 3, "malformed code": 1}``.
    """

    name: str
    vocabulary: Vocabulary
    hierarchies: Mapping[str, Hierarchy] = field(default_factory=dict)
    mappings: tuple[CodeMapping, ...] = ()
    skipped: Mapping[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        return {
            "source": self.name,
            "concepts": len(self.vocabulary),
            "systems": list(self.vocabulary.systems),
            "hierarchy_edges": {s: h.edge_count for s, h in self.hierarchies.items()},
            "mappings": len(self.mappings),
            "skipped": dict(self.skipped),
        }
