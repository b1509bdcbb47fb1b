"""One settings object for patient vectors, shared by the CLI, :func:`patient_vectors` and ``PatientEmbedder``.

``VectorSettings`` holds every choice that shapes a patient vector (weighting,
window, half-life, systems, blocks, as-of, which cached embeddings) and how the
events are read (``aggregate``, ``create_indexes``). It checks them once, when it
is built, so a bad value fails before any database is opened.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ehrfeat.codes import canonical_system
from ehrfeat.errors import InputError
from ehrfeat.patients.timing import parse_duration
from ehrfeat.patients.weights import WeightOptions
from ehrfeat.store.embeddings import DEFAULT_TABLE
from ehrfeat.store.schema import check_duplicate_rule
from ehrfeat.store.source_values import parse_source_systems

__all__ = ["AGGREGATE_MODES", "DEFAULT_CHUNK", "VectorSettings", "now_seconds"]

DEFAULT_CHUNK = 200_000
AGGREGATE_MODES = ("auto", "database", "counts", "events")


def now_seconds() -> int:
    """The run's start as naive-UTC epoch seconds: no event from then on counts."""
    return int(datetime.now(UTC).replace(tzinfo=None).timestamp())


@dataclass(frozen=True)
class VectorSettings:
    """How patient vectors are built; see :func:`ehrfeat.patients.vectors.patient_vectors` for the rules.

    ``aggregate``: ``database`` has the database map codes and times (and, on
    PostgreSQL, group exact repeats) and streams integer rows; ``counts`` has the
    database (PostgreSQL, DuckDB) also apply the as-of, window and duplicate rules
    and stream only (patient, code) counts; ``events`` streams every event into
    Python; ``auto`` takes ``database`` wherever the engine and schema allow it (it
    was the faster of the two database modes at 10M events on all three engines,
    see ``benchmarks/patient_vectors_e2e.py``). ``create_indexes`` lets ehrfeat create
    the SQLite index that speeds up ``systems`` on the ``database`` path (consent; it is reported).
    """

    weighting: str = "mean"
    window: str | float | None = None
    half_life: str | float | None = "180d"
    systems: tuple[str, ...] | None = None
    by_system: bool = False
    as_of: Any = None
    as_of_table: str | None = None
    as_of_column: str | None = None
    fingerprint: str | None = None
    model: str | Path | None = None
    table: str = DEFAULT_TABLE
    chunk_size: int = DEFAULT_CHUNK
    aggregate: str = "auto"
    create_indexes: bool = False
    as_of_rule: str = "strict"  # or "inclusive": events at the as-of count too (ehrfeat.patients.as_of_rule)
    # OMOP: code systems of source values per table, as given to embed-codes --source-system
    # (("condition=ICD10CM,ICD9CM",)); give the same as there, so events get the keys that were embedded.
    source_systems: tuple[str, ...] | None = None
    duplicate_concepts: str = "error"  # OMOP: a concept id CONCEPT lists twice: error, first or skip (ehrfeat.store.omop)

    def __post_init__(self) -> None:
        check_duplicate_rule(self.duplicate_concepts)
        if self.systems is not None:
            systems = (self.systems,) if isinstance(self.systems, str) else self.systems
            object.__setattr__(self, "systems", tuple(canonical_system(s) for s in systems) or None)
        if self.aggregate not in AGGREGATE_MODES:
            raise InputError(
                f"unknown aggregate mode {self.aggregate!r}", fix=f"use one of {', '.join(AGGREGATE_MODES)}", code="E1901"
            )
        if self.as_of is not None and self.as_of_table is not None:
            raise InputError("give either an as-of date or an as-of table, not both", fix="drop --as-of or --as-of-table",
                             code="E136")
        if self.as_of_rule not in ("strict", "inclusive"):
            raise InputError(f"unknown as-of rule {self.as_of_rule!r}", fix="use --as-of-rule strict or inclusive",
                             code="E1509")
        if self.source_systems is not None:
            specs = (self.source_systems,) if isinstance(self.source_systems, str) else tuple(self.source_systems)
            object.__setattr__(self, "source_systems", specs or None)
            parse_source_systems(specs)  # checks them now (E1401-E1403)
        if self.chunk_size < 1:
            raise InputError(f"chunk_size must be at least 1, not {self.chunk_size}", fix="use e.g. 200_000", code="E105")
        self.options()  # checks the weighting and the durations now

    def options(self, *, rule_moves_as_of: bool = True) -> WeightOptions:
        """The :class:`WeightOptions` these settings mean (durations in seconds).

        On databases the inclusive rule moves each as-of 1 s later (:func:`~ehrfeat.patients.as_of_rule.apply_rule`),
        so the window grows by 1 s and its start stays where it was; the MEDS accumulator applies the rule
        itself (``rule_moves_as_of=False``).
        """
        window_s = parse_duration(self.window, "window")
        if window_s is not None and self.as_of_rule == "inclusive" and rule_moves_as_of:
            window_s += 1
        return WeightOptions(
            weighting=self.weighting,
            window_s=window_s,
            half_life_s=parse_duration(self.half_life, "half-life") if self.weighting == "time-decay" else None,
            by_system=self.by_system,
        )

    @property
    def wanted_systems(self) -> list[str] | None:
        return list(self.systems) if self.systems else None

    def with_(self, **changes: Any) -> VectorSettings:
        return replace(self, **changes)

    def params(self) -> dict[str, Any]:
        """The settings as plain values (recorded with the vectors, so counts can be rebuilt alike)."""
        out = asdict(self)
        out["as_of"] = None if self.as_of is None else str(self.as_of)
        out["window"] = None if self.window is None else str(self.window)
        out["half_life"] = str(self.half_life) if self.weighting == "time-decay" else None
        out["systems"] = self.wanted_systems
        out["model"] = None if self.model is None else str(self.model)
        return out
