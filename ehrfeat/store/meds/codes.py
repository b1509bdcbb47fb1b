"""The distinct codes of a MEDS dataset (one pass, shard by shard) and the text each one is embedded as.

Text comes from, in order: ``metadata/codes.parquet``'s description; a code system
the code's path names (:mod:`ehrfeat.store.meds.code_rules`) looked up in the built-in
dictionaries; readable words inside the path; else the code is unresolved, with a reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ehrfeat.store.meds.code_rules import CodeRules, default_rules
from ehrfeat.store.meds.dataset import MedsDataset, MedsReadReport
from ehrfeat.vocab.builtin import BuiltinDictionaries, builtin_dictionaries, description_place

__all__ = [
    "FROM_CODES_PARQUET",
    "FROM_DICTIONARY",
    "FROM_WORDS",
    "UNRESOLVED",
    "MedsCode",
    "distinct_meds_codes",
    "resolve_meds_texts",
]

FROM_CODES_PARQUET = "codes.parquet description"
FROM_DICTIONARY = "built-in dictionary"
FROM_WORDS = "words in the code"
UNRESOLVED = "unresolved"


@dataclass(frozen=True)
class MedsCode:
    """One distinct MEDS code string with its usage and, once resolved, its text and where that came from."""

    code: str
    n_events: int
    n_subjects: int
    system: str | None = None
    system_code: str | None = None
    text: str | None = None
    text_source: str = UNRESOLVED
    reason: str | None = None  # why unresolved


def distinct_meds_codes(dataset: MedsDataset, report: MedsReadReport | None = None, batch_size: int = 262_144) -> list[MedsCode]:
    """Every distinct code with its event and subject counts, reading one shard batch at a time.

    Subjects are counted once per code within a shard (a subject lives in one shard in MEDS).
    Codes come sorted by descending events, then code.
    """
    ids: dict[str, int] = {}
    events = np.zeros(0, np.int64)
    subjects = np.zeros(0, np.int64)
    prev_subject: int | None = None
    prev_codes = np.zeros(0, np.int64)
    for batch in dataset.iter_batches(report, batch_size=batch_size):
        lut = np.fromiter((ids.setdefault(c, len(ids)) for c in batch.codes.tolist()), np.int64, len(batch.codes))
        if len(ids) > len(events):
            events = np.concatenate([events, np.zeros(len(ids) - len(events), np.int64)])
            subjects = np.concatenate([subjects, np.zeros(len(ids) - len(subjects), np.int64)])
        if len(batch) == 0:
            continue
        gid = lut[batch.code_index]
        events += np.bincount(gid, minlength=len(events))
        sid = batch.subject_id
        order = np.lexsort((gid, sid))
        s, g = sid[order], gid[order]
        first = np.ones(len(s), bool)
        first[1:] = (s[1:] != s[:-1]) | (g[1:] != g[:-1])
        us, ug = s[first], g[first]
        if prev_subject is not None:  # a subject whose rows continue from the previous batch
            again = (us == prev_subject) & np.isin(ug, prev_codes)
            us, ug = us[~again], ug[~again]
        subjects += np.bincount(ug, minlength=len(subjects))
        last = int(sid[-1])
        tail = g[s == last]
        prev_codes = np.union1d(prev_codes, tail) if last == prev_subject else np.unique(tail)
        prev_subject = last
    names = list(ids)
    out = [MedsCode(names[i], int(events[i]), int(subjects[i])) for i in range(len(names)) if events[i] > 0]
    out.sort(key=lambda c: (-c.n_events, c.code))
    return out


def resolve_meds_texts(
    codes: Sequence[MedsCode],
    descriptions: Mapping[str, str],
    rules: CodeRules | None = None,
    builtin: BuiltinDictionaries | None = None,
) -> list[MedsCode]:
    """Each code with its system, text and text source (or the reason it has no text)."""
    rules = rules or default_rules()
    builtin = builtin or builtin_dictionaries()
    out = []
    for item in codes:
        parsed = rules.parse(item.code)
        text, source, reason = descriptions.get(item.code), FROM_CODES_PARQUET, None
        if not text and parsed.system and parsed.code:
            text, source = builtin.describe(parsed.system, parsed.code), FROM_DICTIONARY
        if not text and parsed.words:
            text, source = parsed.words, FROM_WORDS
        if not text:
            source = UNRESOLVED
            if parsed.system and parsed.code and parsed.system in builtin.systems:
                reason = f"no description, and {parsed.system} code {parsed.code} is not in the built-in dictionary"
            elif parsed.system and parsed.code:
                reason = builtin.missing_reason(parsed.system, description_place("meds"))
            else:
                reason = "no description, no known code system and no readable words in the code"
        out.append(MedsCode(item.code, item.n_events, item.n_subjects, parsed.system, parsed.code,
                            text.strip() if text else None, source, reason))
    return out


def source_counts(codes: Sequence[MedsCode]) -> dict[str, Counter[str]]:
    """``text source -> Counter(system)``: every distinct code once."""
    out: dict[str, Counter[str]] = {}
    for c in codes:
        out.setdefault(c.text_source, Counter())[c.system or "-"] += 1
    return out
