"""The events of a Spark cohort, each tagged with why it is not used, counted per distinct key.

:func:`aggregate_events` joins the canonical events with the cohort and the broadcast code
index and gives each event its reason (the reasons and their order of
:mod:`ehrfeat.patients.weights`: an event counts only when ``time < as_of`` and, with a
window, ``time >= as_of - window``), then counts the events per ``(issue, time issue,
reason, patient, block, code, time)``. :func:`summarize_events` brings the counts of
that aggregate to the driver (:class:`EventSummary`), duplicates (same patient, code and
time) counted once, as on one machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ehrfeat.patients.vectors import READ_ISSUES
from ehrfeat.patients.weights import (
    AFTER_AS_OF,
    BEFORE_WINDOW,
    DUPLICATE,
    FUTURE,
    NO_PATIENT,
    NO_TIME,
    UNKNOWN_CODE,
    WeightOptions,
)

__all__ = ["EventSummary", "aggregate_events", "summarize_events"]

_KEYS = ("issue", "time_issue", "reason", "pid", "block", "col", "t", "as_of")


def aggregate_events(events: Any, cohort: Any, codes: Any, options: WeightOptions, now_s: int) -> Any:
    """One row per distinct (issue, time issue, reason, patient, block, code, time) with its count ``n``."""
    from pyspark.sql import functions as F

    people = cohort.frame.select("patient_id", F.lit(True).alias("in_cohort"),
                                 F.least(F.coalesce(F.col("as_of_s"), F.lit(now_s)), F.lit(now_s)).alias("as_of_eff"))
    joined = events.join(people, "patient_id", "left").join(F.broadcast(codes), ["system", "code"], "left")
    t, has_t, as_of = F.col("t"), F.col("t").isNotNull(), F.col("as_of_eff")
    reason = F.when(F.col("issue").isNotNull(), F.lit(None)).when(F.col("in_cohort").isNull(), F.lit(NO_PATIENT))
    reason = reason.when(F.col("col").isNull(), F.lit(UNKNOWN_CODE))
    if cohort.explicit or options.needs_time:
        reason = reason.when(~has_t, F.lit(NO_TIME))
    reason = reason.when(has_t & (t >= now_s), F.lit(FUTURE)).when(has_t & (t >= as_of), F.lit(AFTER_AS_OF))
    if options.window_s is not None:
        reason = reason.when(has_t & (t < as_of - F.lit(options.window_s)), F.lit(BEFORE_WINDOW))
    block = F.coalesce(F.col("domain"), F.lit("unknown")) if options.by_system else F.lit("all")
    tagged = joined.select("issue", "time_issue", reason.cast("string").alias("reason"), F.col("patient_id").alias("pid"),
                           block.alias("block"), "col", "t", F.col("as_of_eff").alias("as_of"))
    kept = F.col("issue").isNull() & F.col("reason").isNull()
    tagged = tagged.select("issue", F.when(F.col("issue").isNull(), F.col("time_issue")).alias("time_issue"), "reason",
                           *(F.when(kept, F.col(c)).alias(c) for c in ("pid", "block", "col", "t", "as_of")))
    return tagged.groupBy(*_KEYS).agg(F.count(F.lit(1)).alias("n"))


@dataclass(frozen=True)
class EventSummary:
    """The counts the driver collects from :func:`aggregate_events`: events read and used, skipped and read issues by
    reason, and the blocks of the used events."""

    events_read: int
    events_used: int
    skipped: dict[str, int]
    read_issues: dict[str, int]
    blocks: set[str]


def summarize_events(aggregate: Any) -> EventSummary:
    """The counts of ``aggregate`` (one small collect); duplicates of a used event are skipped as :data:`DUPLICATE`."""
    from pyspark.sql import functions as F

    kept = F.col("issue").isNull() & F.col("reason").isNull()
    dups = F.when(kept & F.col("t").isNotNull(), F.col("n") - 1).otherwise(0)
    rows = aggregate.groupBy("issue", "time_issue", "reason", "block").agg(
        F.sum("n").alias("n"), F.sum(dups).alias("dups")).collect()
    read, used, duplicates = 0, 0, 0
    skipped: dict[str, int] = {}
    issues: dict[str, int] = {}
    blocks: set[str] = set()
    for row in rows:
        n = int(row["n"])
        if row["issue"] is not None:
            issues[READ_ISSUES[row["issue"]]] = issues.get(READ_ISSUES[row["issue"]], 0) + n
            continue
        read += n
        if row["time_issue"] is not None:
            label = READ_ISSUES[row["time_issue"]]
            issues[label] = issues.get(label, 0) + n
        if row["reason"] is not None:
            skipped[row["reason"]] = skipped.get(row["reason"], 0) + n
        else:
            used += n - int(row["dups"])
            duplicates += int(row["dups"])
            blocks.add(row["block"])
    if duplicates:
        skipped[DUPLICATE] = duplicates
    return EventSummary(read, used, skipped, issues, blocks)
