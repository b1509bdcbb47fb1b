"""Patient weights from (patient, code) counts that the database computed: the ``counts`` aggregate mode.

The engine (PostgreSQL, DuckDB) applies the as-of, window and duplicate rules and
sends one row per (patient, code column) pair (:mod:`ehrfeat.store.pair_counts`);
here each pair's rows are split into the read issues of the row stream (by the
markers of :mod:`ehrfeat.store.coded_events`), the accumulator's skip reasons and
the used events, so weights, skip counts and read issues equal the per-event path's.
The cohort check stays in Python (a global as-of needs no cohort table on the server).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ehrfeat.patients.as_of import AsOf
from ehrfeat.patients.weights import (
    AFTER_AS_OF,
    BEFORE_WINDOW,
    FUTURE,
    NO_TIME,
    CodeColumns,
    WeightAccumulator,
    Weights,
)
from ehrfeat.store.coded_events import MALFORMED, NOT_CACHED, NULL_CODE, PID_NULL
from ehrfeat.store.pair_counts import CountRules, PairCounts
from ehrfeat.store.records import EventReadReport

__all__ = ["add_pairs", "counted_weights"]


def add_pairs(accumulator: WeightAccumulator, pairs: PairCounts, read: EventReadReport, domains: np.ndarray | None) -> None:
    """One block of counted pairs into ``accumulator``; their read issues into ``read``."""
    rows = pairs.rows
    read.rows_read += int(rows.sum())
    has_pid = pairs.pid != PID_NULL
    read.null_patient += int(rows[~has_pid].sum())
    read.malformed_code += int(rows[has_pid & (pairs.col == MALFORMED)].sum())
    read.null_code += int(rows[has_pid & (pairs.col == NULL_CODE)].sum())
    p = pairs.take(np.flatnonzero(has_pid & (pairs.col >= NOT_CACHED)))
    read.rows_yielded += int(p.rows.sum())
    read.null_time += int(p.null_time.sum())
    read.unparsable_time += int(p.bad_time.sum())
    options = accumulator.options
    untimed = p.null_time + p.bad_time
    needs_time = accumulator.explicit_as_of or options.needs_time
    used = (p.used_distinct if options.dedupe else p.used) + (0 if needs_time else untimed)
    duplicates = p.used - p.used_distinct if options.dedupe else np.zeros_like(used)
    skipped = {FUTURE: p.future, AFTER_AS_OF: p.after_as_of, BEFORE_WINDOW: p.before_window}
    if needs_time:
        skipped = {NO_TIME: untimed, **skipped}
    weight = p.weight if options.weighting == "time-decay" else used.astype(np.float64)
    domain = domains[p.col] if domains is not None else None
    accumulator.add_counted(p.pid, p.col, p.rows, skipped, used, duplicates, weight, domain)


def counted_weights(
    engine: Any, schema: Any, cohort: AsOf, columns: CodeColumns, settings: Any, blocks: Sequence[str] | None,
) -> tuple[Weights, EventReadReport]:
    """The weights of ``cohort`` from the engine's pair counts; raises ``Unsupported`` where it has none."""
    from ehrfeat.store.coded_events import iter_coded_counts

    options = settings.options()
    accumulator = WeightAccumulator(
        cohort.patient_ids, cohort.as_of_s, columns, options, now_s=cohort.now_s, blocks=blocks, explicit_as_of=cohort.explicit
    )
    rules = CountRules(accumulator.ids, accumulator.as_of, accumulator.now_s, window_s=options.window_s,
                       half_life_s=options.half_life_s if options.weighting == "time-decay" else None, dedupe=options.dedupe)
    domains = np.asarray([c.system for c in columns.codes], dtype=object) if options.by_system else None
    read = EventReadReport()
    for pairs in iter_coded_counts(engine, schema, columns.column, rules, systems=settings.systems, report=read):
        add_pairs(accumulator, pairs, read, domains)
    return accumulator.finish(), read
