"""ConText trigger rules and section headers: medspaCy's published English lists plus ehrfeat's additions.

A rule is a trigger phrase (a literal, or a spaCy ``Matcher`` token pattern on
``LOWER``), the category it assigns and the direction of its scope:

- categories: ``NEGATED_EXISTENCE``, ``POSSIBLE_EXISTENCE``, ``HYPOTHETICAL``,
  ``HISTORICAL``, ``FAMILY``;
- directions: ``FORWARD`` (the rest of the sentence), ``BACKWARD`` (the sentence
  before the trigger), ``BIDIRECTIONAL``, ``TERMINATE`` (ends the scope of the
  same category's triggers), ``PSEUDO`` (looks like a trigger, is not one:
  "no increase", "gram negative").

The base lists are medspaCy 1.3.1's ``resources/en/context_rules.json`` and
``section_patterns.json`` (MIT, copyright 2020 medspacy; see
``ehrfeat/linking/resources/README.md``), which implement ConText (Harkema et
al., J Biomed Inform 2009) and NegEx (Chapman et al., 2001). :data:`EXTRA_RULES`
and :data:`EXTRA_SECTIONS` are ehrfeat's own, written for this project.
No spaCy import here.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = ["CATEGORIES", "EXTRA_RULES", "EXTRA_SECTIONS", "ContextRule", "context_rules", "section_headers"]

CATEGORIES = ("NEGATED_EXISTENCE", "POSSIBLE_EXISTENCE", "HYPOTHETICAL", "HISTORICAL", "FAMILY")
DIRECTIONS = ("FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO")


@dataclass(frozen=True)
class ContextRule:
    """One trigger: ``pattern`` (token dicts on ``LOWER``) or, when ``None``, the words of ``literal``."""

    category: str
    literal: str
    direction: str
    pattern: tuple[dict[str, Any], ...] | None = None

    def phrases(self, tokenize: Callable[[str], list[str]]) -> list[tuple[str, ...]]:
        """Every lower-case word sequence the trigger matches: its ``IN`` lists and optional words expanded.

        A literal is split by ``tokenize`` (the pipeline's tokenizer); pattern tokens without
        ``LOWER`` (``LIKE_NUM``, ``IS_ALPHA``) are optional context and are left out.
        """
        if not self.pattern:
            return [tuple(word.lower() for word in tokenize(self.literal))]
        sequences: list[tuple[str, ...]] = [()]
        for token in self.pattern:
            lower = token.get("LOWER")
            if lower is None:
                continue
            options = [lower] if isinstance(lower, str) else list(lower["IN"])
            if token.get("OP", "?") != "?":
                raise ValueError(f"ConText rule {self.literal!r}: only the '?' operator is supported, got {token['OP']!r}")
            grown = [(*seq, *option.lower().split()) for seq in sequences for option in options]
            sequences = grown + sequences if token.get("OP") == "?" else grown
        return [seq for seq in dict.fromkeys(sequences) if seq]


_FAMILY = ["mother", "father", "mom", "dad", "sister", "brother", "sibling", "siblings", "son", "daughter", "aunt",
           "uncle", "grandmother", "grandfather", "cousin", "parents", "maternal", "paternal"]  # fmt: skip
_RELATIVES_IN: list[dict[str, Any]] = [{"LOWER": {"IN": ["in", "of"]}}, {"LOWER": {"IN": ["his", "her", "their", "the"]}, "OP": "?"},
                 {"LOWER": {"IN": [*_FAMILY, "family"]}}]  # fmt: skip
EXTRA_RULES: tuple[ContextRule, ...] = (
    # family (experiencer): "Mother had ...", "diabetes in his father", "FHx of ..."
    ContextRule("FAMILY", "relative in", "BACKWARD", tuple(_RELATIVES_IN)),
    ContextRule("FAMILY", "fhx", "FORWARD", ({"LOWER": {"IN": ["fhx", "fh", "famhx"]}},)),
    ContextRule("FAMILY", "fam hx", "FORWARD"),
    ContextRule("FAMILY", "runs in the family", "BACKWARD"),
    ContextRule("FAMILY", "family member", "FORWARD"),
    # historical
    ContextRule("HISTORICAL", "s/p", "FORWARD"),
    ContextRule("HISTORICAL", "h/o", "FORWARD"),
    ContextRule("HISTORICAL", "status post", "FORWARD"),
    ContextRule("HISTORICAL", "pmh", "FORWARD", ({"LOWER": {"IN": ["pmh", "pmhx", "pshx", "psh"]}},)),
    ContextRule("HISTORICAL", "previous", "FORWARD", ({"LOWER": {"IN": ["previous", "prior", "remote", "childhood", "previously"]}},)),
    ContextRule("HISTORICAL", "years ago", "BACKWARD", ({"LIKE_NUM": True, "OP": "?"}, {"LOWER": {"IN": ["years", "yrs", "months", "decades"]}}, {"LOWER": "ago"})),
    ContextRule("HISTORICAL", "in the past", "BACKWARD"),
    ContextRule("HISTORICAL", "last year", "BACKWARD", ({"LOWER": "last"}, {"LOWER": {"IN": ["year", "month", "decade"]}})),
    ContextRule("HISTORICAL", "residual", "TERMINATE", ({"LOWER": {"IN": ["residual", "ongoing", "persistent"]}},)),
    ContextRule("POSSIBLE_EXISTENCE", "due to", "TERMINATE", ({"LOWER": "due"}, {"LOWER": "to"})),
    ContextRule("HISTORICAL", "as a child", "BACKWARD"),
    # hypothetical
    ContextRule("HYPOTHETICAL", "return if", "FORWARD", ({"LOWER": {"IN": ["return", "call", "seek"]}}, {"IS_ALPHA": True, "OP": "?"}, {"LOWER": {"IN": ["if", "for", "with"]}})),
    ContextRule("HYPOTHETICAL", "in case of", "FORWARD"),
    ContextRule("HYPOTHETICAL", "watch for", "FORWARD", ({"LOWER": {"IN": ["watch", "monitor", "monitoring"]}}, {"LOWER": "for"})),
    ContextRule("HYPOTHETICAL", "risk of", "FORWARD", ({"LOWER": {"IN": ["risk", "risks"]}}, {"LOWER": {"IN": ["of", "for"]}})),
    ContextRule("HYPOTHETICAL", "screening for", "FORWARD", ({"LOWER": {"IN": ["screening", "screen"]}}, {"LOWER": "for"})),
    # uncertainty
    ContextRule("POSSIBLE_EXISTENCE", "may represent", "FORWARD", ({"LOWER": {"IN": ["may", "might", "could"]}}, {"LOWER": {"IN": ["represent", "reflect", "indicate"]}})),
    ContextRule("POSSIBLE_EXISTENCE", "possibly", "FORWARD", ({"LOWER": {"IN": ["possibly", "probable", "suspected", "questionable", "presumed"]}},)),
    # negation additions
    ContextRule("NEGATED_EXISTENCE", "w/o", "FORWARD"),
    ContextRule("POSSIBLE_EXISTENCE", "r/o", "FORWARD"),
    ContextRule("NEGATED_EXISTENCE", "denies", "FORWARD", ({"LOWER": {"IN": ["denies", "denied", "deny", "denying"]}},)),
    ContextRule("NEGATED_EXISTENCE", "no signs of", "FORWARD", ({"LOWER": "no"}, {"LOWER": {"IN": ["sign", "signs", "symptoms", "evidence"]}}, {"LOWER": "of"})),
    ContextRule("NEGATED_EXISTENCE", "is absent", "BACKWARD", ({"LOWER": {"IN": ["is", "was", "are", "were"]}, "OP": "?"}, {"LOWER": {"IN": ["absent", "excluded"]}})),
    ContextRule("NEGATED_EXISTENCE", "not seen", "BACKWARD", ({"LOWER": {"IN": ["is", "was", "are", "were"]}, "OP": "?"}, {"LOWER": "not"}, {"LOWER": {"IN": ["seen", "identified", "present", "demonstrated", "noted", "visualized"]}})),
    ContextRule("NEGATED_EXISTENCE", "negative", "BACKWARD", ({"LOWER": "negative"},)),
    ContextRule("NEGATED_EXISTENCE", "resolution of", "FORWARD", ({"LOWER": {"IN": ["resolution", "resolved"]}}, {"LOWER": "of"})),
    ContextRule("NEGATED_EXISTENCE", "has resolved", "BACKWARD", ({"LOWER": {"IN": ["has", "have"]}}, {"LOWER": "resolved"})),
    ContextRule("NEGATED_EXISTENCE", "ruled out", "BACKWARD", ({"LOWER": {"IN": ["ruled", "was", "is"]}, "OP": "?"}, {"LOWER": "ruled"}, {"LOWER": "out"})),
    ContextRule("NEGATED_EXISTENCE", "no", "FORWARD", ({"LOWER": {"IN": ["no", "nor", "neither"]}},)),
    ContextRule("NEGATED_EXISTENCE", "and", "TERMINATE", ({"LOWER": {"IN": ["presents", "reports", "endorses", "complains", "admits"]}},)),
    ContextRule("NEGATED_EXISTENCE", "c/o", "TERMINATE"),
    ContextRule("FAMILY", "patient", "TERMINATE", ({"LOWER": {"IN": ["patient", "pt"]}},)),
    ContextRule("HISTORICAL", "now", "TERMINATE", ({"LOWER": {"IN": ["now", "currently", "today", "presents", "admitted"]}},)),
    # pseudo-triggers: not negations, so they end nothing and start nothing
    ContextRule("NEGATED_EXISTENCE", "no increase", "PSEUDO", ({"LOWER": "no"}, {"LOWER": {"IN": ["increase", "change", "changes", "further", "significant change", "interval"]}})),
    ContextRule("NEGATED_EXISTENCE", "not only", "PSEUDO", ({"LOWER": "not"}, {"LOWER": {"IN": ["only", "necessarily", "certain", "ruled"]}})),
    ContextRule("NEGATED_EXISTENCE", "gram negative", "PSEUDO", ({"LOWER": "gram"}, {"LOWER": {"IN": ["negative", "positive"]}})),
    ContextRule("FAMILY", "family physician", "PSEUDO", ({"LOWER": "family"}, {"LOWER": {"IN": ["physician", "doctor", "practice", "medicine", "meeting", "members", "at"]}})),
    ContextRule("HISTORICAL", "family history", "PSEUDO", ({"LOWER": {"IN": ["family", "clinical", "fam"]}}, {"LOWER": {"IN": ["history", "hx"]}})),
    ContextRule("HISTORICAL", "history of present illness", "PSEUDO", ({"LOWER": "history"}, {"LOWER": "of"}, {"LOWER": "present"}, {"LOWER": "illness"})),
)

# medspaCy rules whose direction ehrfeat changes: "IMPRESSION: No PE." negates what follows the colon too
_DIRECTION = {": no": "BIDIRECTIONAL"}

# section headers: literal -> category (added to, or overriding, medspaCy's)
EXTRA_SECTIONS: dict[str, str] = {
    "Family hx:": "family_history", "FHx:": "family_history", "FH:": "family_history",
    "Past medical hx:": "past_medical_history", "PMHx:": "past_medical_history",
    "Allergies:": "allergies", "Allergy:": "allergies",
    "HISTORY:": "reason_for_examination", "CLINICAL HISTORY:": "reason_for_examination",  # radiology indications
    "Indication:": "reason_for_examination", "Impression:": "observation_and_plan",
    "Assessment and plan:": "observation_and_plan", "Exam:": "physical_exam", "Social hx:": "social_history",
}  # fmt: skip


def _resource(name: str) -> Any:
    return json.loads(resources.files("ehrfeat.linking").joinpath("resources", name).read_text(encoding="utf-8"))


@functools.cache
def context_rules() -> tuple[ContextRule, ...]:
    """medspaCy's English ConText rules followed by :data:`EXTRA_RULES`."""
    base = [
        ContextRule(r["category"], r["literal"], _DIRECTION.get(r["literal"], r["direction"]),
                    tuple(r["pattern"]) if r.get("pattern") else None)
        for r in _resource("medspacy_context_rules.json")["context_rules"]
    ]
    return (*base, *EXTRA_RULES)


@functools.cache
def section_headers() -> dict[str, str]:
    """Lower-cased header literal (without its colon) -> section category."""
    out = {r["literal"].lower().rstrip(": "): r["category"] for r in _resource("medspacy_section_patterns.json")["section_rules"]}
    out.update({k.lower().rstrip(": "): v for k, v in EXTRA_SECTIONS.items()})
    return out
