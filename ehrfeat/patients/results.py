"""What a patient-vector run returns: the vectors with their column names, and the report of what it counted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ehrfeat.report import Summary

__all__ = ["EventReport", "PatientVectors", "VectorReport", "embedding_columns"]


@dataclass(frozen=True, kw_only=True)
class EventReport:
    """What every patient-vector run counts: events read, used, and not used by reason; store read issues."""

    events_read: int
    events_used: int
    skipped: dict[str, int] = field(default_factory=dict)
    read_issues: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    @property
    def events_per_s(self) -> float:
        return self.events_read / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def _summary(self, head: Summary, read_heading: str) -> Summary:
        """``head`` (the rows and their issues), then the events: read, used, not used by reason, read issues."""
        head.fields([("events read", self.events_read), ("events used", self.events_used),
                     ("events not used", sum(self.skipped.values()))])
        head.reasons(self.skipped, width=9, by_count=True)
        return head.reasons(self.read_issues, heading=read_heading, width=9)


@dataclass(frozen=True, kw_only=True)
class VectorReport(EventReport):
    """Counts of one run: events used, events skipped by reason, and patient-level issues."""

    patients: int
    patients_without_codes: int
    as_of_issues: dict[str, int] = field(default_factory=dict)
    path: str = "events"  # database: codes and times in SQL, rows streamed; counts: pair counts in SQL; events: Python
    notes: tuple[str, ...] = ()  # what the database path did to the database (indexes created)

    def lines(self) -> list[str]:
        head = Summary(24).fields([
            ("patients", self.patients),
            ("  without usable codes", f"{self.patients_without_codes} (zero rows, flagged no_codes)"),
        ])
        out = self._summary(head, "reading the events table:").reasons(self.as_of_issues, heading="as-of table:", width=9)
        out.text(*(f"note: {note}" for note in self.notes))
        return out.field("elapsed", f"{self.elapsed_s:.1f} s ({self.events_per_s:,.0f} events/s, {self.path} path)").lines


@dataclass(frozen=True)
class PatientVectors:
    """``matrix[i]`` (float32) is the vector of patient ``patient_ids[i]``; ``columns`` names its columns."""

    patient_ids: np.ndarray
    matrix: np.ndarray
    columns: tuple[str, ...]
    n_events: np.ndarray
    no_codes: np.ndarray
    report: VectorReport | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.patient_ids)

    def to_frame(self) -> Any:
        """A pandas DataFrame: ``patient_id``, ``n_events``, ``no_codes``, then the vector columns."""
        import pandas as pd

        frame = pd.DataFrame(self.matrix, columns=list(self.columns))
        frame.insert(0, "no_codes", self.no_codes)
        frame.insert(0, "n_events", self.n_events)
        frame.insert(0, "patient_id", self.patient_ids)
        return frame


def embedding_columns(blocks: Sequence[str], dim: int, by_system: bool) -> tuple[str, ...]:
    """``emb_000 ..`` or, per block, ``ICD10CM_emb_000 ..`` (``condition_emb_000`` for OMOP domains)."""
    width = max(3, len(str(dim - 1)))
    if not by_system:
        return tuple(f"emb_{i:0{width}d}" for i in range(dim))
    return tuple(f"{block}_emb_{i:0{width}d}" for block in blocks for i in range(dim))
