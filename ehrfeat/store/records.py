"""What reading a patient database returns, whatever its backend: code counts, raw code groups,
event chunks, skip reasons and skip reports."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from ehrfeat.errors import SchemaError
from ehrfeat.reasons import ReasonCounter, keep_example

__all__ = [
    "CodeCount",
    "EventChunk",
    "EventReadReport",
    "Key",
    "RawGroup",
    "SkipCollector",
    "SkipReason",
    "SkipReport",
    "sorted_unique",
    "to_float_values",
    "to_patient_ids",
]


#: A canonical code: (canonical system, canonical code).
Key = tuple[str, str]


class SkipReason(StrEnum):
    """Why a row of a patient database is not used; the value is the text reports show."""

    NULL_PATIENT = "null patient_id"
    NULL_SYSTEM = "null code system"
    NULL_CODE = "null code"
    INVALID_SYSTEM = "invalid code system"
    MALFORMED_CODE = "malformed code"
    UNMAPPED = "unmapped concept (source value only)"

    @property
    def rows(self) -> str:
        """The :class:`SkipReport` key of this reason, which counts rows: ``"malformed code (rows)"``."""
        return f"{self.value} (rows)"

    def rows_of(self, detail: str) -> str:
        """A key that splits this reason by what was found: ``"unmapped concept (source value only): SOURCE_TEXT (rows)"``."""
        return f"{self.value}: {detail} (rows)"


@dataclass(frozen=True)
class RawGroup:
    """One raw code form as a backend stores it (``ref``) with its canonical key and counts."""

    ref: tuple[object, ...]
    key: Key
    n_events: int
    n_patients: int
    domain: str | None = None
    concept_id: int | None = None
    text: str | None = None


@dataclass(frozen=True)
class CodeCount:
    """One distinct code of the database with its usage, all raw forms of it merged."""

    system: str  # canonical system (canonical_system)
    code: str  # canonical code (normalize_code); OMOP: the concept's vocabulary_id/concept_code
    n_events: int
    n_patients: int
    text: str | None  # description from the database itself (native vocabulary / CONCEPT.concept_name)
    concept_id: int | None = None  # OMOP only
    domain: str | None = None  # OMOP: condition/drug/procedure/measurement/observation/device; native: None


@dataclass(frozen=True)
class SkipReport:
    """What :func:`~ehrfeat.store.distinct_codes` could not use: reason -> count, reason -> example codes."""

    counts: Mapping[str, int] = field(default_factory=dict)
    examples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class SkipCollector(ReasonCounter):
    """Mutable builder of a :class:`SkipReport`; a store backend's reasons are ``SkipReason.X.rows``."""

    @property
    def counts(self) -> ReasonCounter:
        """reason -> count (the collector itself)."""
        return self

    def report(self) -> SkipReport:
        return SkipReport(dict(self.counts), {k: tuple(v) for k, v in self.examples.items()})


@dataclass(frozen=True)
class EventChunk:
    """A columnar block of events; all arrays have the same length."""

    patient_id: np.ndarray  # int64
    time: np.ndarray  # datetime64[s], NaT where null or unparsable
    system: np.ndarray  # object: canonical system
    code: np.ndarray  # object: canonical code
    value: np.ndarray  # float64, NaN when absent
    domain: np.ndarray  # object: OMOP domain name, or the code system for native databases

    def __len__(self) -> int:
        return int(self.patient_id.shape[0])


@dataclass
class EventReadReport:
    """Counters filled while :func:`~ehrfeat.store.iter_events` runs (rows, not distinct values).

    Rows with a null or unparsable time are yielded (time NaT) and counted;
    rows with a null patient, null or malformed code, or an OMOP concept that
    maps to nothing are not yielded, and counted.
    """

    rows_read: int = 0
    rows_yielded: int = 0
    null_patient: int = 0
    null_time: int = 0
    unparsable_time: int = 0
    null_code: int = 0
    malformed_code: int = 0
    unmapped_concept: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)  # reason -> up to 5 raw codes

    def add_example(self, reason: SkipReason, value: object) -> None:
        keep_example(self.examples, reason.value, value)

    @property
    def rows_skipped(self) -> int:
        return self.null_patient + self.null_code + self.malformed_code + self.unmapped_concept


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of int64 values by one sort (numpy's hashing ``unique`` is many times slower on millions of them)."""
    values = np.sort(np.asarray(values))
    if len(values) < 2:
        return values
    first = np.empty(len(values), bool)
    first[0] = True
    np.not_equal(values[1:], values[:-1], out=first[1:])
    return values[first]


def to_patient_ids(values: Iterable[object], what: str) -> np.ndarray:
    """Patient ids as int64; integer-like text (``'1042'``) is accepted, anything else is a :class:`SchemaError`."""
    items = values if isinstance(values, list) else list(values)
    if all(type(v) is int for v in items):
        return np.asarray(items, dtype=np.int64)
    out = np.empty(len(items), dtype=np.int64)
    for i, v in enumerate(items):
        try:
            number = int(v)  # type: ignore[call-overload]
            ok = not isinstance(v, bool) and (float(v) == number)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise SchemaError(
                f"{what} holds a patient id that is not an integer: {v!r}",
                fix="store integer patient ids; for text ids add an integer key, e.g. "
                "CREATE TABLE id_map AS SELECT patient_id AS source_id, ROW_NUMBER() OVER (ORDER BY patient_id) AS patient_id "
                "FROM patients, and rewrite events.patient_id through it",
                code="E217",
            )
        out[i] = number
    return out


def to_float_values(values: list[object]) -> np.ndarray:
    """Values as float64 (NaN for null or non-numeric text such as 'positive')."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        out = np.full(len(values), np.nan)
        for i, v in enumerate(values):
            with contextlib.suppress(TypeError, ValueError):
                out[i] = float(v)  # type: ignore[arg-type]
        return out
