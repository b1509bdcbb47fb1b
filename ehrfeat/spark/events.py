"""Raw events to canonical events on the executors, with the one-machine rules.

``canonical_events(source)`` runs, with ``mapInPandas``, the very functions the
single-machine readers run: :class:`ehrfeat.store.native.CodeNormalizer` (canonical
systems and codes), :func:`ehrfeat.store.dates.parse_times` (every time form, UTC)
and :func:`ehrfeat.store.records.to_patient_ids`. Rows the readers would not
yield keep an ``issue`` (the :data:`ehrfeat.patients.vectors.READ_ISSUES` key:
``null_patient``, ``null_code``, ``malformed_code``, ``unmapped_concept``); rows
yielded without a time carry ``time_issue`` (``null_time`` or ``unparsable_time``).
With ``systems``, rows of other code systems are dropped before anything is counted,
as the one-machine readers filter them in SQL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ehrfeat.codes import canonical_system
from ehrfeat.errors import EhrfeatError
from ehrfeat.spark.source import SparkSource

__all__ = ["CANONICAL_SCHEMA", "canonical_events", "normalize_batch"]

CANONICAL_SCHEMA = (
    "patient_id long, t long, system string, code string, domain string, text string, issue string, time_issue string"
)


def _system_of(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    try:
        return canonical_system(str(value))
    except EhrfeatError:
        return None


def normalize_batch(frame: Any, wanted: frozenset[str] | None, normalizer: Any = None, classifier: Any = None) -> Any:
    """One pandas batch of raw events (:data:`~ehrfeat.spark.source.RAW_COLUMNS`) in canonical form.

    ``classifier`` (a :class:`~ehrfeat.store.source_values.SourceClassifier`) keys the OMOP rows
    without a known concept by their source value, as :mod:`ehrfeat.store.omop` does.
    """
    import pandas as pd

    from ehrfeat.store.dates import NAT, null_mask, parse_times
    from ehrfeat.store.native import CodeNormalizer
    from ehrfeat.store.records import to_patient_ids

    norm = normalizer or CodeNormalizer()
    if wanted is not None and len(frame):  # what the one-machine readers leave out in SQL
        sys_idx, sys_uniques = pd.factorize(frame["code_system"], use_na_sentinel=False)
        inside = np.array([_system_of(s) in wanted for s in sys_uniques], dtype=bool)
        frame = frame[inside[sys_idx] | frame["unmapped"].fillna(False).to_numpy(dtype=bool)]
    n = len(frame)
    issue = np.full(n, None, dtype=object)
    issue[frame["patient_id"].isna().to_numpy()] = "null_patient"
    unmapped = frame["unmapped"].fillna(False).to_numpy(dtype=bool)
    si, su = pd.factorize(frame["code_system"], use_na_sentinel=False)
    ci, cu = pd.factorize(frame["code"], use_na_sentinel=False)
    su_list = [None if pd.isna(v) else v for v in su]
    cu_list = [None if pd.isna(v) else v for v in cu]
    width = len(cu_list) + 1
    pairs, inverse = np.unique(si.astype(np.int64) * width + ci, return_inverse=True)
    keys = [norm(su_list[p // width], cu_list[p % width]) for p in pairs.tolist()]
    bad = np.array(["malformed_code" if k in ("malformed code", "invalid code system") else "null_code" if isinstance(k, str)
                    else "" for k in keys] or [""], dtype=object)
    sys_of = np.array([None if isinstance(k, str) else k[0] for k in keys] or [None], dtype=object)
    code_of = np.array([None if isinstance(k, str) else k[1] for k in keys] or [None], dtype=object)
    system = np.full(n, None, dtype=object)
    code = np.full(n, None, dtype=object)
    text = frame["text"].to_numpy(dtype=object).copy()
    if n:
        mapped = (issue == None) & ~unmapped  # noqa: E711 (element-wise on an object array)
        row_bad = bad[inverse]
        issue[mapped & (row_bad != "")] = row_bad[mapped & (row_bad != "")]
        system[mapped], code[mapped] = sys_of[inverse[mapped]], code_of[inverse[mapped]]
        todo = np.flatnonzero((issue == None) & unmapped)  # noqa: E711
        if len(todo):
            classify = (classifier or _classifier()).classify
            domains, values = frame["domain"].to_numpy(dtype=object), frame["source_value"].to_numpy(dtype=object)
            for i in todo.tolist():
                value = None if pd.isna(values[i]) else values[i]
                _, key, source_text = classify(domains[i], value)
                if key is None:
                    issue[i] = "unmapped_concept"
                else:
                    system[i], code[i], text[i] = key[0], key[1], source_text
    ok = issue == None  # noqa: E711
    if wanted is not None and n:
        inside = np.array([s in wanted for s in system.tolist()], dtype=bool)
        drop = ok & ~inside  # keyed outside the systems asked for: not yielded, not counted
        if drop.any():
            keep = ~drop
            frame, issue, system, code, text, ok = frame[keep], issue[keep], system[keep], code[keep], text[keep], ok[keep]
            n = len(frame)
    pid = np.zeros(n, np.int64)
    if ok.any():
        raw = frame["patient_id"].to_numpy()[ok]
        pid[ok] = raw.astype(np.int64) if raw.dtype.kind in "iu" else to_patient_ids(raw.tolist(), "events table")
    seconds = np.full(n, NAT, np.int64)
    time_issue = np.full(n, None, dtype=object)
    if ok.any():
        times = frame["time"].to_numpy()[ok]
        parsed = parse_times(times).times.astype("datetime64[s]").view(np.int64)
        null = null_mask(times)
        seconds[ok] = parsed
        sub = np.full(int(ok.sum()), None, dtype=object)
        sub[(parsed == NAT) & null] = "null_time"
        sub[(parsed == NAT) & ~null] = "unparsable_time"
        time_issue[ok] = sub
    domain = frame["domain"].to_numpy(dtype=object).copy()
    no_domain = pd.isna(domain)
    domain[no_domain] = system[no_domain]
    return pd.DataFrame({
        "patient_id": pd.Series(pid, dtype="Int64").mask(~ok),
        "t": pd.Series(seconds, dtype="Int64").mask(~ok | (seconds == NAT)),
        "system": system, "code": code, "domain": np.where(ok, domain, None),
        "text": text, "issue": issue, "time_issue": time_issue,
    })


def _classifier() -> Any:
    from ehrfeat.store.source_values import SourceClassifier

    return SourceClassifier()


def canonical_events(source: SparkSource, systems: Sequence[str] | None = None) -> Any:
    """``source.events`` normalised on the executors: :data:`CANONICAL_SCHEMA`, one row per raw row kept."""
    wanted = frozenset(canonical_system(s) for s in systems) if systems else None
    source_systems = source.source_systems

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        from ehrfeat.store.native import CodeNormalizer
        from ehrfeat.store.source_values import SourceClassifier

        normalizer, classifier = CodeNormalizer(), None
        for batch in batches:
            if classifier is None and batch["unmapped"].fillna(False).any():
                classifier = SourceClassifier(source_systems)
            yield normalize_batch(batch, wanted, normalizer, classifier)

    return source.events.mapInPandas(run, CANONICAL_SCHEMA)
