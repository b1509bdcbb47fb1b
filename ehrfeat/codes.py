"""Code systems and the one canonical form of a code in each.

``normalize_code("ICD10CM", "e119 ")`` and ``normalize_code("ICD10CM", "E11.9")``
both give ``"E11.9"``; ICD-9-CM ``4280`` is ``428.0`` (E and V codes too); HPO
``hp_0001250`` is ``HP:0001250``. Every reader, store and cache keys codes by
``(canonical system, canonical code)`` so the same code is never embedded twice.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ehrfeat.errors import InputError

__all__ = [
    "HPO",
    "ICD9CM",
    "ICD9PROC",
    "ICD10CM",
    "ICD10PCS",
    "LOINC",
    "MESH",
    "OMOP",
    "PHECODE",
    "RXNORM",
    "SNOMED",
    "SOURCE_TEXT",
    "Code",
    "canonical_system",
    "normalize_code",
]

ICD10CM = "ICD10CM"
ICD10PCS = "ICD10PCS"
ICD9CM = "ICD9CM"
ICD9PROC = "ICD9Proc"
PHECODE = "PHECODE"
HPO = "HPO"
LOINC = "LOINC"
RXNORM = "RxNorm"
SNOMED = "SNOMED"
MESH = "MeSH"
OMOP = "OMOP"  # OMOP concept ids, whatever vocabulary they belong to
SOURCE_TEXT = "SOURCE_TEXT"  # free-text OMOP source values, keyed "<domain>:<text>" (ehrfeat.store.source_values)

_ALIASES = {
    "icd10cm": ICD10CM,
    "icd10": ICD10CM,
    "icd10-cm": ICD10CM,
    "icd-10-cm": ICD10CM,
    "icd-10": ICD10CM,
    "icd10pcs": ICD10PCS,
    "icd-10-pcs": ICD10PCS,
    "icd9cm": ICD9CM,
    "icd9": ICD9CM,
    "icd-9-cm": ICD9CM,
    "icd-9": ICD9CM,
    "icd9proc": ICD9PROC,
    "icd9pcs": ICD9PROC,
    "icd-9-proc": ICD9PROC,
    "icd9cmproc": ICD9PROC,
    "phecode": PHECODE,
    "phe": PHECODE,
    "hpo": HPO,
    "hp": HPO,
    "loinc": LOINC,
    "lnc": LOINC,
    "rxnorm": RXNORM,
    "snomed": SNOMED,
    "snomedct": SNOMED,
    "snomedct_us": SNOMED,
    "mesh": MESH,
    "msh": MESH,
    "omop": OMOP,
    "concept_id": OMOP,
}

# Single inner spaces are allowed: OMOP vocabulary_ids such as "Cost Type" or "Meas Type" have them.
_SYSTEM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-.]*( [A-Za-z0-9_\-.]+)*$")


def canonical_system(name: str) -> str:
    """The canonical spelling of a code-system name (``icd-10-cm`` -> ``ICD10CM``).

    Names ehrfeat does not know are kept as given (stripped), so any OMOP
    ``vocabulary_id`` or UMLS source abbreviation works as a system name.
    """
    return _canonical_system_cached(name) if type(name) is str else _canonical_system(name)


def _canonical_system(name: object) -> str:
    cleaned = " ".join(str(name).split())
    if len(cleaned) > 64 or not _SYSTEM_NAME.match(cleaned):
        raise InputError(
            f"code system name {name!r} is not valid",
            fix="use letters, digits, spaces, '-', '_' or '.', starting with a letter (e.g. ICD10CM)",
            code="E101",
        )
    return _ALIASES.get(cleaned.lower().replace(" ", ""), cleaned)


# Readers call canonical_system once per code: millions of times, on a handful of names. Failures are not cached.
_canonical_system_cached = functools.lru_cache(maxsize=4096)(_canonical_system)


@dataclass(frozen=True, order=True)
class Code:
    """A code in its canonical form: ``Code("ICD10CM", "E11.9")``."""

    system: str
    code: str

    @classmethod
    def parse(cls, system: str, code: object) -> Code:
        sys_ = canonical_system(system)
        return cls(sys_, normalize_code(sys_, code))

    def __str__(self) -> str:
        return f"{self.system}:{self.code}"


def _clean(code: object) -> str:
    if code is None:
        raise InputError("empty code", fix="drop rows whose code is null", code="E102")
    if isinstance(code, float) and code.is_integer():
        code = int(code)
    text = str(code).strip()
    if not text:
        raise InputError("empty code", fix="drop rows whose code is blank", code="E102")
    return text


_ICD10CM_SHAPE = re.compile(r"[A-Z][0-9A-Z][0-9A-Z]{1,5}")
_ICD10CM_DIGIT = re.compile(r"[0-9]")


def _icd10cm(text: str) -> str:
    compact = text.upper().replace(".", "").replace(" ", "")
    # The second character is a digit except in the QA0 codes added in April 2026 (QA0.0142 ...).
    if not _ICD10CM_SHAPE.fullmatch(compact) or not _ICD10CM_DIGIT.search(compact, 1, 3):
        raise InputError(f"{text!r} is not an ICD-10-CM code", fix="ICD-10-CM codes look like E11.9 or E119", code="E103")
    return compact if len(compact) == 3 else f"{compact[:3]}.{compact[3:]}"


def _icd9cm(text: str) -> str:
    up = text.upper().replace(" ", "")
    head, _, tail = up.partition(".")
    if not _:
        if up.startswith("E"):
            head, tail = up[:4], up[4:]
        else:
            head, tail = up[:3], up[3:]
    if head.isdigit():
        head = head.zfill(3)
    if not (re.fullmatch(r"[0-9]{3}|V[0-9]{2}|E[0-9]{3}", head) and re.fullmatch(r"[0-9]{0,2}", tail)):
        raise InputError(f"{text!r} is not an ICD-9-CM code", fix="ICD-9-CM codes look like 428.0, V15.82 or E888.9", code="E103")
    return f"{head}.{tail}" if tail else head


def _icd9proc(text: str) -> str:
    up = text.replace(" ", "")
    head, dot, tail = up.partition(".")
    if not dot:
        head, tail = up[:2], up[2:]
    if not (re.fullmatch(r"[0-9]{2}", head) and re.fullmatch(r"[0-9]{0,2}", tail)):
        raise InputError(f"{text!r} is not an ICD-9-CM procedure code", fix="ICD-9-CM procedure codes look like 38.93 or 3893",
                         code="E103")
    return f"{head}.{tail}" if tail else head


def _icd10pcs(text: str) -> str:
    up = text.upper().replace(" ", "")
    if not re.fullmatch(r"[0-9A-HJ-NP-Z]{1,7}", up):  # shorter: hierarchy nodes (Athena)
        raise InputError(f"{text!r} is not an ICD-10-PCS code", fix="ICD-10-PCS codes are up to 7 letters and digits, e.g. 0DTJ4ZZ", code="E103")
    return up


def _phecode(text: str) -> str:
    head, dot, tail = text.partition(".")
    if not head.isdigit() or (dot and not tail.isdigit()):
        raise InputError(f"{text!r} is not a PheCode", fix="PheCodes look like 250.2 or 008", code="E103")
    return f"{head.zfill(3)}.{tail}" if tail else head.zfill(3)


def _hpo(text: str) -> str:
    digits = re.sub(r"^(HP)?[:_]?", "", text.upper())
    if not digits.isdigit() or len(digits) > 7:
        raise InputError(f"{text!r} is not an HPO term id", fix="HPO ids look like HP:0001250", code="E103")
    return f"HP:{digits.zfill(7)}"


def _digits(label: str) -> object:
    def norm(text: str) -> str:
        if not text.isdigit():
            raise InputError(f"{text!r} is not a {label} code", fix=f"{label} codes are integers", code="E103")
        return str(int(text))

    return norm


_NORMALIZERS = {
    ICD10CM: _icd10cm,
    ICD9CM: _icd9cm,
    ICD9PROC: _icd9proc,
    ICD10PCS: _icd10pcs,
    PHECODE: _phecode,
    HPO: _hpo,
    RXNORM: _digits("RxNorm"),
    SNOMED: _digits("SNOMED CT"),
    OMOP: _digits("OMOP concept id"),
    LOINC: str.upper,
    MESH: str.upper,
}


def normalize_code(system: str, code: object) -> str:
    """The canonical form of ``code`` in ``system``; raises :class:`InputError` if malformed."""
    text = _clean(code)
    norm = _NORMALIZERS.get(canonical_system(system))
    return norm(text) if norm is not None else text  # type: ignore[operator]
