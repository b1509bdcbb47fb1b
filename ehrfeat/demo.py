"""A synthetic patient database in the native schema, with planted phenotypes and a planted outcome.

Every patient belongs to exactly one phenotype group of
:data:`ehrfeat.demo_groups.GROUPS` (diabetes, heart failure, cancer, pregnancy,
depression, COPD, CKD, asthma) and carries its ICD-10-CM codes with high
probability, some of its drugs (RxNorm), labs (LOINC, with values), sometimes
its ICD-9-CM code (dated before October 2015) and HPO term, 15% of the time a
code of another group, and background codes common to all (hypertension,
hyperlipidemia, URI, back pain...). Events fall in 2015-2024 as ISO text.

Deliberate untidiness, so that readers and reports have something to show:
about 7% of ICD-10-CM codes are written in odd forms (``E119``, ``e119``,
``E11.9 ``) or under the system alias ``icd-10-cm``; some ICD-9-CM codes lack
their dot; some HPO ids are written ``hp_0005978``; about 1% of patients have
one malformed code (``ICD10CM:UNKNOWN``); about 0.2% of events have a NULL time;
``LOCAL`` codes ``FLU-CLINIC`` and ``ZZ-TRIAGE-7`` have no description anywhere.

About 15% of patients, of any group, also have a history of fractures: one or
more codes of :data:`~ehrfeat.demo_groups.FRACTURES`, 743 initial-encounter
closed-fracture codes of the spine, pelvis, shoulder, wrist and femur. Real
coding is that specific (site, side, displacement), so each fracture code is
carried by about one patient in 3000.

Kept apart from the features: ``demo_truth(patient_id, phenotype)`` and
``demo_outcome(patient_id, index_date, outcome)`` (an event such as an
unplanned admission in the year after 2025-01-01). Its log-odds depend on the
group, on specific codes (:data:`~ehrfeat.demo_groups.OUTCOME_EFFECTS`), on age,
and on the number of distinct fracture codes (``FRACTURE_EFFECT`` each). That
last part is what code embeddings are for: no single fracture column is seen
often enough for a per-code weight, but all fracture codes embed close together,
so a patient's vector moves the same way whichever fracture was coded.
About 20% of patients have a short clinical note naming their conditions.
The same ``seed`` always gives identical rows.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ehrfeat.demo_groups import (
    DRUGS,
    FRACTURE_EFFECT,
    FRACTURE_EXTRA,
    FRACTURE_RATE,
    FRACTURES,
    GROUPS,
    LABS,
    LOCAL_CODES,
    NOISE,
    NOISE_DRUGS,
    NOISE_PHRASES,
    OUTCOME_EFFECTS,
    PhenotypeGroup,
)
from ehrfeat.errors import DatabaseError, InputError
from ehrfeat.store.database import open_database, table_names
from ehrfeat.store.schema import create_native_schema

__all__ = ["DemoSummary", "make_demo_db"]

INDEX_DATE = "2025-01-01"
_DAYS = np.arange("2015-01-01", "2025-01-01", dtype="datetime64[D]").astype(str).tolist()
_ICD9_DAYS = 272  # 2015-01-01 .. 2015-09-30, before the switch to ICD-10-CM
_FOLLOW_UP = ("Follow up in three months.", "Labs reviewed with the patient.", "Counselled on diet and exercise.",
              "Return if symptoms worsen.", "Medications reconciled.")
_DEMO_DDL = (
    "CREATE TABLE demo_truth (patient_id INTEGER PRIMARY KEY, phenotype TEXT NOT NULL)",
    "CREATE TABLE demo_outcome (patient_id INTEGER PRIMARY KEY, index_date TEXT NOT NULL, outcome INTEGER NOT NULL)",
)

Row = tuple[object, ...]


@dataclass(frozen=True)
class DemoSummary:
    path: str
    seed: int
    n_patients: int
    n_events: int
    n_notes: int
    groups: Mapping[str, int] = field(default_factory=dict)
    outcome_rate: float = 0.0
    seconds: float = 0.0

    def line(self) -> str:
        return (f"{self.path}: {self.n_patients} patients in {len(self.groups)} phenotype groups, {self.n_events} events, "
                f"{self.n_notes} notes, outcome rate {self.outcome_rate:.1%} (seed {self.seed}, {self.seconds:.1f} s)")


def make_demo_db(path: str | os.PathLike[str], *, n_patients: int = 3000, seed: int = 0) -> DemoSummary:
    """Write the demo database to ``path`` (a new file, or a previous demo database, which is replaced)."""
    if n_patients < 1:
        raise InputError(f"n_patients must be at least 1, not {n_patients}", fix="use e.g. 3000", code="E105")
    start = time.perf_counter()
    target = Path(path)
    _clear(target)
    rng = np.random.default_rng(seed)
    names = list(GROUPS)
    membership = rng.integers(len(names), size=n_patients)
    patients: list[Row] = []
    events: list[Row] = []
    notes: list[Row] = []
    truth: list[Row] = []
    outcomes: list[Row] = []
    n_outcome = 0
    for i in range(n_patients):
        pid, name = i + 1, names[int(membership[i])]
        patient, rows, outcome, note = _patient(rng, pid, name)
        patients.append(patient)
        events.extend(rows)
        truth.append((pid, name))
        outcomes.append((pid, INDEX_DATE, outcome))
        n_outcome += outcome
        if note is not None:
            notes.append((len(notes) + 1, pid, note[0], note[1]))
    vocabulary: list[Row] = [("LOINC", c, v[0]) for c, v in LABS.items()]
    vocabulary += [("RxNorm", c, n) for c, n in DRUGS.items()]
    vocabulary += [("LOCAL", c, d) for c, d in LOCAL_CODES.items() if d is not None]
    engine = open_database(target, must_exist=False)
    create_native_schema(engine)
    with engine.begin() as conn:
        for ddl in _DEMO_DDL:
            conn.exec_driver_sql(ddl)
        for table, rows in (("patients", patients), ("events", events), ("vocabulary", vocabulary), ("notes", notes),
                            ("demo_truth", truth), ("demo_outcome", outcomes)):
            if rows:
                conn.exec_driver_sql(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    engine.dispose()
    counts = {g: int((membership == k).sum()) for k, g in enumerate(names)}
    return DemoSummary(str(target), seed, n_patients, len(events), len(notes), counts,
                       n_outcome / n_patients, time.perf_counter() - start)


def _clear(target: Path) -> None:
    if not target.exists():
        return
    engine = open_database(target)
    try:
        is_demo = "demo_truth" in table_names(engine)
    finally:
        engine.dispose()
    if not is_demo:
        raise DatabaseError(f"{target} exists and is not a demo database; refusing to overwrite it",
                            fix="choose another path, or delete the file first", code="E207")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)


def _patient(rng: np.random.Generator, pid: int, name: str) -> tuple[Row, list[Row], int, tuple[str, str] | None]:
    group = GROUPS[name]
    sex = group.sex or ("F" if rng.random() < 0.5 else "M")
    age = int(rng.integers(group.ages[0], group.ages[1] + 1))
    birth = str(np.datetime64(INDEX_DATE) - np.timedelta64(age * 365 + int(rng.integers(365)), "D"))
    center = int(rng.integers(200, len(_DAYS) - 200))
    rows: list[Row] = []
    carried: list[str] = []

    def day_near() -> int:
        return int(np.clip(center + rng.normal(0, 180), 0, len(_DAYS) - 1))

    for code, p in _own_codes(group, sex):
        if rng.random() < p:
            carried.append(code)
            rows.extend((pid, _date(rng, day_near()), *_odd_icd10(rng, code), None) for _ in range(1 + rng.poisson(1.2)))
    if rng.random() < 0.15:  # a code of another group
        other = GROUPS[str(rng.choice([g for g in GROUPS if g != name]))]
        carried.append(other.icd10[0][0])
        rows.append((pid, _date(rng, int(rng.integers(len(_DAYS)))), "ICD10CM", other.icd10[0][0], None))
    for code, p in NOISE:
        if rng.random() < p:
            carried.append(code)
            rows.extend((pid, _date(rng, int(rng.integers(len(_DAYS)))), *_odd_icd10(rng, code), None)
                        for _ in range(1 + rng.poisson(0.3)))
    fractures: list[str] = []
    if rng.random() < FRACTURE_RATE:  # a history of fragility fractures: a few rare codes of one semantic family
        picks = rng.choice(len(FRACTURES), size=min(len(FRACTURES), 1 + int(rng.poisson(FRACTURE_EXTRA))), replace=False)
        fractures = [FRACTURES[int(k)] for k in picks]
        for code in fractures:
            rows.extend((pid, _date(rng, int(rng.integers(len(_DAYS)))), *_odd_icd10(rng, code), None)
                        for _ in range(1 + rng.poisson(0.5)))
    if rng.random() < 0.3:
        code9 = group.icd9 if rng.random() < 0.7 else group.icd9.replace(".", "")
        rows.append((pid, _DAYS[int(rng.integers(_ICD9_DAYS))], "ICD9CM", code9, None))
    if rng.random() < 0.2:
        hpo = group.hpo if rng.random() < 0.9 else group.hpo.lower().replace(":", "_")
        rows.append((pid, _date(rng, day_near()), "HPO", hpo, None))
    drugs = [rx for rx, p in group.drugs if rng.random() < p and not (rx == "10324" and sex == "M")]
    drugs += [NOISE_DRUGS[c] for c in carried if c in NOISE_DRUGS and rng.random() < 0.6]
    for rx in drugs:
        rows.extend((pid, _date(rng, day_near()), "RxNorm", rx, None) for _ in range(1 + rng.poisson(2.0)))
    for loinc, (_label, mean, sd, p) in LABS.items():
        mean, sd, p = group.labs.get(loinc, (mean, sd, p))
        if rng.random() < p:
            rows.extend((pid, _datetime(rng, day_near()), "LOINC", loinc, round(max(0.0, rng.normal(mean, sd)), 1))
                        for _ in range(1 + rng.poisson(1.0)))
    for code, p in zip(LOCAL_CODES, (0.05, 0.04, 0.02), strict=True):
        if rng.random() < p:
            rows.append((pid, _date(rng, int(rng.integers(len(_DAYS)))), "LOCAL", code, None))
    if rng.random() < 0.01:
        rows.append((pid, _date(rng, day_near()), "ICD10CM", "UNKNOWN", None))
    logit = (group.risk + sum(OUTCOME_EFFECTS.get(c, 0.0) for c in dict.fromkeys(carried))
             + FRACTURE_EFFECT * len(fractures) + 0.02 * (age - 55))
    outcome = int(rng.random() < 1.0 / (1.0 + np.exp(-logit)))
    note = None
    if rng.random() < 0.2:
        note = (_DAYS[center], _note(rng, group, age, sex, carried, drugs))
    return (pid, birth, sex), rows, outcome, note


def _own_codes(group: PhenotypeGroup, sex: str) -> list[tuple[str, float]]:
    wrong_sex = {"F": ("C61",), "M": ("C50.911",)}[sex]
    return [(c, p) for c, p in group.icd10 if c not in wrong_sex]


def _odd_icd10(rng: np.random.Generator, code: str) -> tuple[str, str]:
    u = rng.random()
    compact = code.replace(".", "")
    form = compact if u < 0.03 else compact.lower() if u < 0.05 else f"{code} " if u < 0.07 else code
    return ("icd-10-cm" if rng.random() < 0.02 else "ICD10CM"), form


def _date(rng: np.random.Generator, day: int) -> str | None:
    return None if rng.random() < 0.002 else _DAYS[day]


def _datetime(rng: np.random.Generator, day: int) -> str | None:
    if rng.random() < 0.002:
        return None
    sep = "T" if rng.random() < 0.1 else " "
    return f"{_DAYS[day]}{sep}{int(rng.integers(7, 19)):02d}:{int(rng.integers(60)):02d}:00"


def _note(rng: np.random.Generator, group: PhenotypeGroup, age: int, sex: str, carried: list[str], drugs: list[str]) -> str:
    words = [str(rng.choice(group.phrases))]
    words += [NOISE_PHRASES[c] for c in dict.fromkeys(carried) if c in NOISE_PHRASES][:2]
    conditions = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    text = f"{age}-year-old {'woman' if sex == 'F' else 'man'} with {conditions}."
    if drugs:
        text += f" Started {DRUGS[drugs[0]]}."
    return f"{text} {rng.choice(_FOLLOW_UP)}"
