"""What an embed-codes run reports: :class:`CodeRunReport` (every run) and :class:`EmbedReport` (a database).

Both count the codes found, embedded now, already cached and unresolved (by reason, with
examples); :class:`EmbedReport` adds the rows and codes skipped, the text sources, the
timings and, for OMOP, the coverage per domain table, as summary lines and as
``--report`` JSON. :mod:`ehrfeat.embed` and :mod:`ehrfeat.embed_meds` fill them in.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ehrfeat.report import Summary, write_json
from ehrfeat.store.usage import coverage_lines

__all__ = ["CodeRunReport", "EmbedReport"]


@dataclass(frozen=True, kw_only=True)
class CodeRunReport:
    """What every embed-codes run counts (databases and MEDS): codes found, embedded now, cached, unresolved."""

    target: str
    fingerprint: str
    codes_found: int
    embedded_now: int
    already_cached: int
    unresolved: dict[str, int] = field(default_factory=dict)
    unresolved_examples: dict[str, list[str]] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def _start(self, *head: tuple[str, object]) -> Summary:
        """The summary's first lines: ``head``, then codes found, embedded now and already cached."""
        return Summary(20).fields([*head, ("codes found", self.codes_found), ("embedded now", self.embedded_now),
                                   ("already cached", self.already_cached)])


@dataclass(frozen=True, kw_only=True)
class EmbedReport(CodeRunReport):
    """What one run did; ``unresolved`` and ``skipped`` give counts by reason, with examples."""

    database: str
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_examples: dict[str, list[str]] = field(default_factory=dict)
    text_sources: dict[str, int] = field(default_factory=dict)
    encode_s: float = 0.0
    coverage: dict[str, Any] | None = None  # OMOP: per domain table, see ehrfeat.store.usage.coverage_report

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready data (``--report FILE``)."""
        data = dataclasses.asdict(self)
        data["codes_per_s"] = self.codes_per_s
        return data

    def write_json(self, path: str | Path) -> None:
        write_json(path, self.to_json(), code="E1404")

    @property
    def codes_per_s(self) -> float:
        return self.embedded_now / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def lines(self) -> list[str]:
        """A human-readable summary."""
        out = self._start().field("unresolved", sum(self.unresolved.values()))
        out.reasons(self.unresolved, self.unresolved_examples)
        if self.skipped:
            out.field("skipped rows/codes", sum(self.skipped.values())).reasons(self.skipped, self.skipped_examples)
        sources = ", ".join(f"{k} {v}" for k, v in sorted(self.text_sources.items()))
        out.fields([("text sources", sources or "-"), ("encoder", self.fingerprint), ("written to", self.target),
                    ("elapsed", f"{self.elapsed_s:.1f} s ({self.codes_per_s:.0f} codes/s overall)")])
        if self.embedded_now:
            rate = self.embedded_now / self.encode_s if self.encode_s > 0 else 0.0
            out.field("encoding + writing", f"{self.encode_s:.1f} s ({rate:.0f} codes/s)")
        if self.coverage is not None:
            out.text(*coverage_lines(self.coverage))
        return out.lines
