"""(patient, code) counts computed in SQL: the database applies the as-of, window and duplicate rules and sends counts.

The row stream of :mod:`ehrfeat.store.coded_events` sends one integer row per event
and leaves every rule to :class:`ehrfeat.patients.weights.WeightAccumulator`. Here the
engine (PostgreSQL, DuckDB) sends one row per ``(pid, col)`` pair, with the pair's
events split as the accumulator splits them (the columns of :data:`COLUMNS`):

* **used**: timed events before the as-of (and inside the window), counted once per
  distinct time (``used_distinct``; ``used`` counts the duplicates too), and with
  ``time-decay`` their summed weight ``2 ** ((t - as_of) / half-life)`` over distinct times;
* **null_time**, **bad_time**: events with a null or an unparsable time (used when no
  as-of, window or decay applies, else skipped as "no usable time": Python decides);
* **future**, **after_as_of**, **before_window**: the timed events skipped, by reason.

The pairs keep the markers of :mod:`ehrfeat.store.coded_events` (a null patient, a
malformed or null code, a code without a cached vector), so the read issues and the
cohort check are done in Python on the pairs (:mod:`ehrfeat.patients.counted`); a
global as-of needs no cohort table on the server, a per-patient one joins ``(pid, a)``.
:func:`pair_count_query` builds the query over any relation of ``(pid, col, t)`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ehrfeat.store.coded_events import BAD_T, NULL_T

__all__ = ["COLUMNS", "CountRules", "PairCounts", "pair_count_query"]

COLUMNS = ("pid", "col", "used_distinct", "used", "null_time", "bad_time", "future", "after_as_of", "before_window", "weight")


@dataclass(frozen=True)
class CountRules:
    """What decides whether an event counts: the accumulator's rules, as SQL needs them.

    ``as_of_s``: each cohort patient's as-of in epoch seconds, already capped at
    ``now_s`` (the run's start); ``half_life_s``: time decay.
    """

    patient_ids: np.ndarray
    as_of_s: np.ndarray
    now_s: int
    window_s: int | None = None
    half_life_s: int | None = None
    dedupe: bool = True

    @property
    def global_as_of(self) -> int | None:
        """The one as-of of every cohort patient (the run's start for an empty cohort), else ``None``."""
        if len(self.as_of_s) == 0:
            return self.now_s
        first = int(self.as_of_s[0])
        return first if bool((self.as_of_s == first).all()) else None


@dataclass(frozen=True)
class PairCounts:
    """One block of the query's result rows: a numpy column per name of :data:`COLUMNS`."""

    pid: np.ndarray
    col: np.ndarray
    used_distinct: np.ndarray
    used: np.ndarray
    null_time: np.ndarray
    bad_time: np.ndarray
    future: np.ndarray
    after_as_of: np.ndarray
    before_window: np.ndarray
    weight: np.ndarray

    @classmethod
    def from_columns(cls, ints: list[np.ndarray], weight: np.ndarray) -> PairCounts:
        """From the nine int64 columns and the weights."""
        if len(ints) != len(COLUMNS) - 1:
            raise ValueError(f"expected {len(COLUMNS) - 1} integer columns, got {len(ints)}")
        fields = {name: np.asarray(c, np.int64) for name, c in zip(COLUMNS, ints, strict=False)}
        return cls(**fields, weight=np.asarray(weight, np.float64))

    def take(self, index: np.ndarray) -> PairCounts:
        """The pairs at ``index``."""
        return PairCounts(**{name: getattr(self, name)[index] for name in COLUMNS})

    @property
    def rows(self) -> np.ndarray:
        """Event rows behind each pair."""
        return self.used + self.null_time + self.bad_time + self.future + self.after_as_of + self.before_window


def pair_count_query(rows: str, rules: CountRules, cohort: str | None = None) -> str:
    """SQL over ``rows`` (a relation of ``pid, col, t``): one row per ``(pid, col)``, the columns of :data:`COLUMNS`.

    ``cohort`` is a relation of ``(pid, a)`` (each patient's as-of), needed when
    :attr:`CountRules.global_as_of` is ``None``. The exact repeats of ``(pid, col,
    t)`` are grouped first (one group of three integers), so a pair's distinct timed
    events are its groups and all its events the sum of their sizes.
    """
    fixed = rules.global_as_of
    if fixed is None and cohort is None:
        raise ValueError("per-patient as-of times need the cohort relation")
    now = int(rules.now_s)
    as_of = str(int(fixed)) if fixed is not None else f"coalesce(c.a, {now})"  # outside the cohort: any time (Python drops them)
    join = f" LEFT JOIN {cohort} c ON c.pid = x.pid" if fixed is None else ""
    groups = f"SELECT pid, col, t, count(*) AS n FROM ({rows}) r GROUP BY pid, col, t"
    keyed = f"SELECT x.pid, x.col, x.t, x.n, {as_of} AS a FROM ({groups}) x{join}"
    timed = f"t > {NULL_T}"
    before = f"t < a - {int(rules.window_s)}" if rules.window_s is not None else "false"
    used = f"{timed} AND t < a AND NOT ({before})"

    def total(cond: str) -> str:
        return f"CAST(coalesce(sum(n) FILTER (WHERE {cond}), 0) AS BIGINT)"

    weight = "0"
    if rules.half_life_s is not None:
        decay = f"power(2.0, CAST(t - a AS DOUBLE PRECISION) / {int(rules.half_life_s)})"
        weight = f"coalesce(sum({decay}{'' if rules.dedupe else ' * n'}) FILTER (WHERE {used}), 0)"
    counts = [f"count(*) FILTER (WHERE {used})", total(used), total(f"t = {NULL_T}"), total(f"t = {BAD_T}"),
              total(f"{timed} AND t >= {now}"), total(f"{timed} AND t < {now} AND t >= a"), total(f"{timed} AND t < a AND {before}")]
    return f"SELECT pid, col, {', '.join(counts)}, CAST({weight} AS DOUBLE PRECISION) FROM ({keyed}) z GROUP BY pid, col"
