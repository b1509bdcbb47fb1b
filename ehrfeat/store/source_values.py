"""OMOP ``*_source_value`` columns as codes: which code system a value belongs to, or text.

When a row's concept is 0 or missing from CONCEPT (most shared extracts come without the
licensed vocabularies), :mod:`ehrfeat.store.omop` keys the row by its source value instead:

1. The value (stripped: ``'78791  '``) is tried in each code system its table may hold, in
   order (:data:`DEFAULT_SOURCE_SYSTEMS`: a diagnosis table never holds procedure codes). A
   system with a built-in dictionary (ICD-10-CM, ICD-9-CM, ICD-10-PCS, ICD-9-CM procedures)
   recognises a value only when the dictionary has it, dots or not (``S06357A``, ``4019``,
   ``V1582``, ``E8889``).
2. A value that two dictionaries recognise (``E8889``: ICD-9-CM E888.9 *and* ICD-10-CM E88.89)
   is **ambiguous**: it is not embedded and is reported with examples, unless the user fixed
   the table's systems (``--source-system condition=ICD10CM,ICD9CM``: the first that knows the
   value wins).
3. Systems without a dictionary here (LOINC with its check digit, NDC, RxNorm, CPT-4) are
   recognised by their pattern only: such a value is reported (no text to embed: load the
   vocabularies), not guessed.
4. A value that is no code but text (a word of three letters or more, letters making at least
   half of its letters and digits, not one upper-case token with a digit such as ``X99-LOCAL``:
   ``SVT (Supra Ventricular Tachycardia)``, ``metformin 500 MG``, ``Inpatient``)
   becomes the code ``SOURCE_TEXT:<table>:<text, lower case, blanks collapsed>`` and its text is
   embedded as written.
5. Anything else is unresolved, with its reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ehrfeat.codes import (
    ICD9CM,
    ICD9PROC,
    ICD10CM,
    ICD10PCS,
    LOINC,
    RXNORM,
    SOURCE_TEXT,
    canonical_system,
    normalize_code,
)
from ehrfeat.errors import ConfigError, InputError
from ehrfeat.vocab.builtin import BuiltinDictionaries, builtin_dictionaries

__all__ = [
    "CPT4",
    "DEFAULT_SOURCE_SYSTEMS",
    "DETECTABLE_SYSTEMS",
    "NDC",
    "SourceClassifier",
    "SourceSystems",
    "is_text",
    "parse_source_systems",
    "text_key",
]

NDC = "NDC"
CPT4 = "CPT4"
_DICTIONARY_SYSTEMS = (ICD10CM, ICD9CM, ICD10PCS, ICD9PROC)
_PATTERNS: dict[str, re.Pattern[str]] = {
    LOINC: re.compile(r"[0-9]{1,7}-[0-9]"),
    NDC: re.compile(r"[0-9]{5}-[0-9]{4}-[0-9]{2}|[0-9]{4}-[0-9]{4}-[0-9]{2}|[0-9]{5}-[0-9]{3}-[0-9]{2}|[0-9]{5}-[0-9]{4}-[0-9]|[0-9]{11}"),
    RXNORM: re.compile(r"[1-9][0-9]{0,7}"),
    CPT4: re.compile(r"[0-9]{4}[0-9FTU]"),
}
DETECTABLE_SYSTEMS = (*_DICTIONARY_SYSTEMS, *_PATTERNS)

# Per OMOP domain: the code systems its source values are tried in, in order.
DEFAULT_SOURCE_SYSTEMS: dict[str, tuple[str, ...]] = {
    "condition": (ICD10CM, ICD9CM),
    "procedure": (ICD10PCS, ICD9PROC, CPT4),
    "drug": (NDC, RXNORM),
    "measurement": (LOINC,),
    "observation": (ICD10CM, ICD9CM, LOINC),
    "device": (),
    "visit": (),
}
_WORD = re.compile(r"[^\W\d_]{3,}")
_CODE_LIKE = re.compile(r"[A-Z0-9]+([-_.:/][A-Z0-9]+)*")
_MAX_KEY = 128  # code_embeddings.code is VARCHAR(128)


@dataclass(frozen=True)
class SourceSystems:
    """Code systems per domain; ``fixed`` lists the domains the user set (their order resolves ambiguity)."""

    systems: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_SOURCE_SYSTEMS))
    fixed: frozenset[str] = frozenset()


def parse_source_systems(specs: Sequence[str] | str | Mapping[str, Sequence[str]] | None) -> SourceSystems:
    """``["condition=ICD10CM,ICD9CM", "drug=NDC"]`` (or ``"condition=...;drug=..."``, or a mapping) -> :class:`SourceSystems`."""
    if not specs:
        return SourceSystems()
    items: list[tuple[str, list[str]]] = []
    if isinstance(specs, Mapping):
        items += [(str(k), [str(v) for v in vs]) for k, vs in specs.items()]
    else:
        for spec in [specs] if isinstance(specs, str) else specs:
            for part in str(spec).split(";"):
                if not part.strip():
                    continue
                domain, eq, listed = part.partition("=")
                if not eq:
                    raise ConfigError(f"--source-system {part.strip()!r} is not TABLE=SYSTEM[,SYSTEM...]",
                                      fix="write e.g. --source-system condition=ICD10CM,ICD9CM", code="E1401")
                items.append((domain, [n for n in listed.split(",") if n.strip()]))
    systems = dict(DEFAULT_SOURCE_SYSTEMS)
    fixed = set()
    for raw_domain, names in items:
        domain = raw_domain.strip().lower().removesuffix("_occurrence").removesuffix("_exposure")
        if domain not in DEFAULT_SOURCE_SYSTEMS:
            raise ConfigError(f"--source-system names an unknown table {raw_domain.strip()!r}",
                              fix="use one of " + ", ".join(DEFAULT_SOURCE_SYSTEMS), code="E1402")
        chosen: list[str] = []
        for name in names:
            try:
                system = canonical_system(name)
            except InputError:
                system = name.strip()
            if system not in DETECTABLE_SYSTEMS:
                raise ConfigError(f"--source-system {domain}: unknown code system {name.strip()!r}",
                                  fix="use one of " + ", ".join(DETECTABLE_SYSTEMS) + " (or none, for text only)",
                                  code="E1403")
            chosen.append(system)
        systems[domain] = tuple(chosen)
        fixed.add(domain)
    return SourceSystems(systems, frozenset(fixed))


def is_text(value: str) -> bool:
    """Whether ``value`` reads as text: a word of 3+ letters, letters at least half of its letters and
    digits, and not shaped like a local code (one upper-case token with a digit: ``X99-LOCAL``)."""
    alnum = [c for c in value if c.isalnum()]
    if not _WORD.search(value) or 2 * sum(c.isalpha() for c in alnum) < len(alnum):
        return False
    return not (_CODE_LIKE.fullmatch(value) and any(c.isdigit() for c in value))


def text_key(domain: str, value: str) -> str:
    """The SOURCE_TEXT code of a text value: ``<domain>:<lower-case text>``, hashed past 128 characters."""
    code = f"{domain}:{' '.join(value.split()).lower()}"
    if len(code) <= _MAX_KEY:
        return code
    digest = hashlib.sha1(code.encode()).hexdigest()[:12]
    return f"{code[:_MAX_KEY - 14]}~{digest}"


class SourceClassifier:
    """``classify(domain, value)`` -> ``(kind, key, text)``; kind is ``source_code``, ``source_text`` or
    the reason the value is unresolved (key ``None``). Results are cached per (domain, value)."""

    def __init__(self, systems: SourceSystems | None = None, builtin: BuiltinDictionaries | None = None) -> None:
        self.systems = systems or SourceSystems()
        self.builtin = builtin or builtin_dictionaries()
        self._cache: dict[tuple[str, object], tuple[str, tuple[str, str] | None, str | None]] = {}

    def classify(self, domain: str, value: object) -> tuple[str, tuple[str, str] | None, str | None]:
        hit = self._cache.get((domain, value))
        if hit is None:
            hit = self._cache[(domain, value)] = self._classify(domain, value)
        return hit

    def _classify(self, domain: str, value: object) -> tuple[str, tuple[str, str] | None, str | None]:
        text = " ".join(str(value).split()) if value is not None else ""
        if not text:
            return "no concept and no source value", None, None
        known: list[tuple[str, str]] = []
        patterned: list[str] = []
        shaped: list[str] = []
        for system in self.systems.systems.get(domain, ()):
            if system in _PATTERNS:
                if _PATTERNS[system].fullmatch(text) and (system != LOINC or _loinc_check(text)):
                    patterned.append(system)
                continue
            try:
                code = normalize_code(system, text)
            except InputError:
                continue
            if self.builtin.describe(system, code) is not None:
                known.append((system, code))
            else:
                shaped.append(system)
        if len(known) == 1 or (known and domain in self.systems.fixed):
            return "source_code", known[0], None
        if known:
            return f"ambiguous: a valid {' and '.join(s for s, _ in known)} code (choose with --source-system)", None, None
        if patterned:
            return f"a {patterned[0]} code, but no {patterned[0]} dictionary here (load the vocabularies into CONCEPT)", None, None
        if is_text(text):
            return "source_text", (SOURCE_TEXT, text_key(domain, text)), text
        if shaped:
            return f"shaped like a {shaped[0]} code, but not in the built-in {shaped[0]} dictionary", None, None
        return "neither a known code nor text", None, None


def _loinc_check(code: str) -> bool:
    """LOINC's mod-10 check digit (``4548-4``)."""
    digits, check = code.split("-")
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d // 10 + d % 10
    return (10 - total % 10) % 10 == int(check)
