"""What a MEDS code string means: one table of rules, prefix pattern -> code system.

MEDS codes are ``//``-separated paths chosen by each ETL. A rule is a regular
expression matched against the whole code (case-insensitively) with named groups:
``code`` (the code inside a system), ``words`` (readable words to embed when no
dictionary knows the code) and, for generic ``VOCABULARY/CODE`` forms, ``system``.
The first rule that matches wins; a user's rules (a TOML file, see
:func:`load_code_rules`) come before the built-in ones, which cover MIMIC-IV MEDS
(``DIAGNOSIS//ICD//10//E119``, ``PROCEDURE//ICD//9//5491``,
``MEDICATION//START//Heparin``, ``DRG//APR//283//OTHER DISORDERS OF THE LIVER``,
``LAB//51237//mg/dL``), meds_etl's OMOP output and EHRSHOT (``ICD10CM/E11.9``,
``RxNorm/6809``, ``LOINC/4548-4``) and ``MEDS_BIRTH``/``MEDS_DEATH``. A code no rule
matches still gives its readable words (drug names, DRG titles, unit-free lab names).

A rules file::

    [[rules]]
    prefix = "DX//"          # the rest of the code is an ICD-10-CM code
    system = "ICD10CM"

    [[rules]]
    pattern = "MED//(?P<code>\\d+)//.*"
    system = "RxNorm"
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ehrfeat.codes import canonical_system, normalize_code
from ehrfeat.errors import ConfigError, EhrfeatError

__all__ = ["BUILTIN_RULES", "CodeRule", "CodeRules", "ParsedCode", "code_words", "default_rules", "load_code_rules"]

_VOCABS = (
    "ICD10CM|ICD9CM|ICD10PCS|ICD9Proc|ICD10|ICD9|LOINC|RxNorm|RxNorm Extension|ATC|NDC|SNOMED|SNOMEDCT|CPT4|CPT|HCPCS|"
    "HPO|HP|MeSH|PHECODE|CVX|ICDO3|OMOP"
)
_STRUCTURAL = {
    "START", "STOP", "END", "BEGIN", "ADMINISTERED", "ADMIT", "ADMISSION", "DISCHARGE", "TRANSFER", "ORDER", "ORDERED",
    "LAB", "LABS", "MEDICATION", "MEDICATIONS", "DIAGNOSIS", "PROCEDURE", "ICD", "DRG", "APR", "HCFA", "MS", "UNK",
    "UNKNOWN", "NONE", "NULL", "NAN", "OTHER", "VALUE", "INFUSION", "START_TIME", "END_TIME", "HOSPITAL", "ED", "ICU",
}
_UNITS = {"%", "mg", "g", "gm", "kg", "ml", "l", "dl", "ul", "µl", "μl", "mmol", "umol", "nmol", "pmol", "meq", "mosm", "iu",
          "miu", "u", "ku", "units", "mmhg", "bpm", "cm", "mm", "in", "lb", "oz", "s", "sec", "min", "h", "hr", "hours", "d",
          "days", "ratio", "index", "#", "mcg", "ug", "µg", "μg", "ng", "pg", "fl", "cells", "k", "m", "hpf", "lpf", "m2"}


@dataclass(frozen=True)
class CodeRule:
    """A regular expression over whole MEDS codes and the code system it names (``{system}``: the group)."""

    pattern: str
    system: str
    name: str = ""

    def compiled(self) -> re.Pattern[str]:
        return _compile(self.pattern)


@dataclass(frozen=True)
class ParsedCode:
    """What a MEDS code says: a code of a known system (``code``), readable ``words``, the rule that matched."""

    system: str | None
    code: str | None
    words: str | None
    rule: str


BUILTIN_RULES: tuple[CodeRule, ...] = (
    CodeRule(r"MEDS_BIRTH", "MEDS", "MEDS birth"),
    CodeRule(r"MEDS_DEATH", "MEDS", "MEDS death"),
    CodeRule(r"(?:[A-Z_]*DIAGNOSIS)//ICD//9//(?P<code>[^/]+)(?://.*)?", "ICD9CM", "MIMIC-IV MEDS diagnosis"),
    CodeRule(r"(?:[A-Z_]*DIAGNOSIS)//ICD//10//(?P<code>[^/]+)(?://.*)?", "ICD10CM", "MIMIC-IV MEDS diagnosis"),
    CodeRule(r"(?:[A-Z_]*PROCEDURE)//ICD//9//(?P<code>[^/]+)(?://.*)?", "ICD9Proc", "MIMIC-IV MEDS procedure"),
    CodeRule(r"(?:[A-Z_]*PROCEDURE)//ICD//10//(?P<code>[^/]+)(?://.*)?", "ICD10PCS", "MIMIC-IV MEDS procedure"),
    CodeRule(r"DRG//[^/]+//(?P<code>[^/]+)//(?P<words>.+)", "DRG", "MIMIC-IV MEDS DRG"),
    CodeRule(r"MEDICATION//(?P<words>.+)", "MEDICATION", "MIMIC-IV MEDS medication"),
    CodeRule(r"LAB//(?P<code>\d+)(?://.*)?", "MIMIC-LAB", "MIMIC-IV MEDS lab item"),
    CodeRule(r"LAB//(?P<words>.+)", "LAB", "named lab"),
    CodeRule(rf"(?P<system>{_VOCABS})//?(?P<code>[^/]+(?:/[^/]+)?)", "{system}", "vocabulary/code (meds_etl, EHRSHOT)"),
)


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _is_unit(part: str) -> bool:
    """``mg/dL``, ``K/uL``, ``mmol/L``, ``%``, ``x10E3/uL``: every ``/``-part a unit, after any number or power of ten."""
    pieces = [re.sub(r"^(x?10[e^*]?\d*|[\d.]+)", "", p) for p in part.strip().lower().split("/")]
    return all(p in _UNITS for p in pieces)


def code_words(text: str) -> str | None:
    """Readable words of a code path: structural parts, numbers, codes and units dropped; ALL CAPS made lower case."""
    parts = [p.strip() for p in re.split(r"//", text)]
    if len(parts) == 1 and "/" in text and not _is_unit(text):
        parts = [p.strip() for p in text.split("/")]
    kept = [
        p for p in parts
        if p and p.upper() not in _STRUCTURAL and not _is_unit(p) and re.search(r"[A-Za-z]", p)
        and not re.fullmatch(r"[A-Z]{1,4}\d[\w.\-]*", p)  # a bare code such as E119 or V1582
    ]
    if not any(re.search(r"[A-Za-z]{3,}", p) for p in kept):
        return None
    words = " ".join(" ".join(kept).replace("_", " ").split())
    if words.isupper() and len(words) > 4:
        words = words[0] + words[1:].lower()
    return words


class CodeRules:
    """An ordered rule table; :meth:`parse` maps a MEDS code to a :class:`ParsedCode` (cached per code)."""

    def __init__(self, rules: Sequence[CodeRule]) -> None:
        self.rules = tuple(rules)
        self._compiled = [(r, r.compiled()) for r in self.rules]
        self._cache: dict[str, ParsedCode] = {}

    def parse(self, meds_code: str) -> ParsedCode:
        hit = self._cache.get(meds_code)
        if hit is None:
            hit = self._cache[meds_code] = self._parse(meds_code)
        return hit

    def _parse(self, meds_code: str) -> ParsedCode:
        text = meds_code.strip()
        for rule, regex in self._compiled:
            found = regex.fullmatch(text)
            if found is None:
                continue
            groups = found.groupdict()
            system = rule.system.format(system=groups.get("system") or "") if "{" in rule.system else rule.system
            words = groups.get("words")
            words = code_words(words) if words else (rule.name.split()[-1] if rule.system == "MEDS" else None)
            return ParsedCode(_system(system), _code(system, groups.get("code")), words, rule.name or rule.pattern)
        return ParsedCode(None, None, code_words(text), "words in the code")


def _system(name: str) -> str | None:
    try:
        return canonical_system(name)
    except EhrfeatError:
        return None


def _code(system: str, code: str | None) -> str | None:
    if code is None or not code.strip():
        return None
    try:
        return normalize_code(canonical_system(system), code.strip())
    except EhrfeatError:
        return code.strip()


def load_code_rules(path: str | Path | None = None) -> CodeRules:
    """The built-in rules, preceded by the rules of the TOML file ``path`` (``[[rules]]`` with ``prefix`` or ``pattern``)."""
    if path is None:
        return default_rules()
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"code-rules file {file} does not exist", fix="check the path given to --code-rules", code="E1501") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"code-rules file {file} is not valid TOML: {exc}", fix="see `ehrfeat embed-codes --help`", code="E1501") from exc
    entries = data.get("rules", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{file}: 'rules' must be an array of tables ([[rules]])", code="E1501")
    rules = [_rule(file, i, entry) for i, entry in enumerate(entries)]
    return CodeRules([*rules, *BUILTIN_RULES])


def _rule(file: Path, i: int, entry: object) -> CodeRule:
    where = f"{file}: rule {i + 1}"
    fix = 'each [[rules]] needs system = "..." and either prefix = "DX//" or pattern = "DX//(?P<code>.+)"'
    if not isinstance(entry, dict) or not isinstance(entry.get("system"), str):
        raise ConfigError(f"{where} has no system", fix=fix, code="E1501")
    prefix, pattern = entry.get("prefix"), entry.get("pattern")
    if (prefix is None) == (pattern is None) or not isinstance(prefix or pattern, str):
        raise ConfigError(f"{where} needs exactly one of prefix or pattern", fix=fix, code="E1501")
    regex = re.escape(prefix) + r"(?P<code>.+)" if isinstance(prefix, str) else str(pattern)
    try:
        compiled = _compile(regex)
    except re.error as exc:
        raise ConfigError(f"{where}: pattern {pattern!r} is not a regular expression: {exc}", fix=fix, code="E1501") from exc
    if not {"code", "words"} & set(compiled.groupindex):
        raise ConfigError(f"{where}: pattern {pattern!r} has no (?P<code>...) or (?P<words>...) group", fix=fix, code="E1501")
    if "{system}" in entry["system"] and "system" not in compiled.groupindex:
        raise ConfigError(f"{where}: system {{system}} needs a (?P<system>...) group", fix=fix, code="E1501")
    return CodeRule(regex, entry["system"], str(entry.get("name") or f"{file.name} rule {i + 1}"))


@lru_cache(maxsize=1)
def default_rules() -> CodeRules:
    return CodeRules(BUILTIN_RULES)
