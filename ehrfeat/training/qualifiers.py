"""Shared qualifiers: the words a code's name adds at the end of its parent's name.

ICD-10-CM names most of its codes by appending a qualifier to the parent's name
("..., initial encounter", "..., sequela", "..., subsequent encounter for fracture with
nonunion"): about 64k of its codes end in one of 1.5k such qualifiers. Trained to tell a
code from its siblings, an encoder learns the qualifier as a feature of its own, and two
unrelated codes that end in the same qualifier then look alike (held-out random ICD-10-CM
pairs with one qualifier rose from cosine 0.46 to 0.76 under v37). Drawing some of an
anchor's random partners from the codes that share its qualifier (shared-qualifier
negatives, ``pairs.qualifier_negatives``) shows the model that the qualifier alone does
not make two codes related. Torch-free.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence

from ehrfeat.training.draws import draw_distinct
from ehrfeat.vocab import Hierarchy

__all__ = ["QualifierPool", "name_qualifier"]

_SEPARATORS = " ,;:-/"


def name_qualifier(name: str, parent_name: str) -> str:
    """What ``name`` adds after ``parent_name`` ("" unless it starts with it and adds a word).

    >>> name_qualifier("Fracture of femur, initial encounter", "Fracture of femur")
    'initial encounter'
    >>> name_qualifier("Fracture of right femur", "Fracture of femur")
    ''
    """
    if not parent_name or not name.startswith(parent_name):
        return ""
    rest = name[len(parent_name):]
    if rest[:1].isalnum():  # "Fracture of femurs" does not qualify "Fracture of femur": a word goes on
        return ""
    rest = rest.strip(_SEPARATORS)
    return rest if any(ch.isalnum() for ch in rest) else ""


class QualifierPool:
    """The codes of one tree grouped by the qualifier their name adds to a parent's name."""

    def __init__(self, hierarchy: Hierarchy, names: Mapping[str, str], codes: Collection[str]) -> None:
        self.qualifier: dict[str, str] = {}
        self.by_qualifier: dict[str, list[str]] = {}
        for code in sorted(names):
            found = next((q for p in sorted(hierarchy.parents(code)) if p in names
                          and (q := name_qualifier(names[code], names[p]))), "")
            if found:
                self.qualifier[code] = found
                if code in codes:
                    self.by_qualifier.setdefault(found, []).append(code)

    def draw(self, code: str, n: int, rng: random.Random, excluded: Collection[str], group_of: Mapping[str, str] | None = None) -> list[str]:
        """Up to ``n`` other codes with ``code``'s qualifier, none in ``excluded`` nor in its group."""
        pool: Sequence[str] = self.by_qualifier.get(self.qualifier.get(code, ""), ())
        group = group_of.get(code) if group_of is not None else None
        return draw_distinct(pool, n, rng, lambda c: c != code and c not in excluded
                             and (group is None or group_of is None or group_of.get(c) != group))

    def __len__(self) -> int:
        return len(self.qualifier)
