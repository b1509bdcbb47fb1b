"""A synthetic OMOP CDM 5.4 extract shaped like real shared extracts: no standard vocabularies.

``write_omop_extract(folder)`` writes CSV files (``person.csv``, ``concept.csv``,
``condition_occurrence.csv`` ...) for :func:`ehrfeat.store.import_omop`. Patients follow
the demo's phenotype groups (:mod:`ehrfeat.demo_groups`), but the rows look like an
extract whose CONCEPT table lacks the licensed vocabularies:

* CONCEPT holds a handful of concepts only (visit types and Type 2 diabetes); most
  ``*_concept_id`` are 0 or ids CONCEPT does not have;
* ``condition_source_value``: ICD-10-CM without dots (``E119``, ``S52501A``) and ICD-9-CM
  without dots before October 2015 (``25000``, ``V1582``), some with trailing blanks
  (``78791  ``), free text (``SVT (Supra Ventricular Tachycardia)``), a value valid in both
  ICD systems (``E8889``), an ICD-9 category with no description (``428``) and junk (``###``);
* procedures as ICD-10-PCS, ICD-9-CM procedure and CPT-4 codes; drugs as names (and a few
  NDC codes); labs as names (and a few LOINC codes); observations, devices and visits as
  codes or text.

The same ``seed`` gives identical files.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import TypeVar

import numpy as np

from ehrfeat.demo_groups import DRUGS, FRACTURES, GROUPS, LABS, NOISE

__all__ = ["write_omop_extract"]

T = TypeVar("T")

_START = date(2012, 1, 1)
_ICD10_FROM = date(2015, 10, 1)
_DAYS = (date(2023, 12, 31) - _START).days
_TEXT_CONDITIONS = ("SVT (Supra Ventricular Tachycardia)", "Chest pain, unspecified", "fall at home",
                    "Abdominal pain - RLQ", "hx of migraine", "Shortness of breath")
_ODD_CONDITIONS = ("E8889", "428", "###")  # ambiguous ICD-9/ICD-10, ICD-9 category without text, junk
_PCS = ("5A1955Z", "02HV33Z", "0SRD0J9", "0DJ08ZZ", "3E0234Z", "0DTJ4ZZ")
_ICD9_PROC = ("9904", "8154", "3722", "4513", "3893")
_CPT = ("99213", "93000")
_NDC = ("00093-7214-01", "0071-0155-23")
_DRUG_FORMS = ("{} 500 MG Oral Tablet", "{} 10mg tab", "{}", "{} injection")
_LAB_NAMES = ("Hemoglobin A1c", "Glucose, serum", "Creatinine", "Hemoglobin", "Cholesterol, total", "NT-proBNP", "eGFR")
_OBSERVATIONS = ("Z87891", "V1582", "Tobacco use", "Alcohol use", "Z9181")
_DEVICES = ("Insulin pump", "Glucose monitor", "Cardiac pacemaker")
_VISITS = ((9201, "Inpatient"), (9202, "Outpatient"), (9203, "Emergency Room"), (0, "Telehealth visit"),
           (0, "Outpatient"), (0, "Inpatient"))
_CONCEPTS = (
    (9201, "Inpatient Visit", "Visit", "Visit", "Visit", "S", "IP"),
    (9202, "Outpatient Visit", "Visit", "Visit", "Visit", "S", "OP"),
    (9203, "Emergency Room Visit", "Visit", "Visit", "Visit", "S", "ER"),
    (201826, "Type 2 diabetes mellitus", "Condition", "SNOMED", "Clinical Finding", "S", "44054006"),
)
_UNKNOWN_CONCEPTS = (4329847, 320128, 312437, 0, 0, 0)  # not in CONCEPT (0: no concept at all)


def write_omop_extract(folder: str | os.PathLike[str], *, n_patients: int = 300, seed: int = 0) -> dict[str, int]:
    """Write the extract's CSV files into ``folder`` (created); returns rows per table."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tables: dict[str, list[list[object]]] = {name: [] for name in _HEADERS}
    names = sorted(GROUPS)
    for pid in range(1, n_patients + 1):
        group = GROUPS[names[int(rng.integers(len(names)))]]
        tables["person"].append([pid, 0, int(rng.integers(1940, 2000)), 0, 0, f"P{pid:05d}"])
        for _ in range(int(rng.integers(1, 4))):
            day = _day(rng)
            concept, source = _VISITS[int(rng.integers(len(_VISITS)))]
            tables["visit_occurrence"].append([len(tables["visit_occurrence"]) + 1, pid, concept, day, day, source])
        conditions = [c for c, p in (*group.icd10, *NOISE) if rng.random() < p]
        if rng.random() < 0.3:
            conditions.append(FRACTURES[int(rng.integers(len(FRACTURES)))])
        for code in conditions:
            _condition(tables, rng, pid, code, group.icd9)
        if rng.random() < 0.3:
            _add(tables, "condition_occurrence", pid, _day(rng), _pick(rng, _TEXT_CONDITIONS), 0)
        if rng.random() < 0.05:
            _add(tables, "condition_occurrence", pid, _day(rng), _pick(rng, _ODD_CONDITIONS), 0)
        for ingredient, p in group.drugs:
            if rng.random() < p:
                name = _pick(rng, _DRUG_FORMS).format(DRUGS.get(ingredient, "aspirin"))
                source = name if rng.random() > 0.03 else _pick(rng, _NDC)
                _add(tables, "drug_exposure", pid, _day(rng), source.capitalize() if rng.random() < 0.3 else source, 0)
        for loinc in group.labs:
            source = _pick(rng, _LAB_NAMES) if rng.random() > 0.05 else loinc
            _add(tables, "measurement", pid, _day(rng), source, 0, round(float(rng.normal(LABS[loinc][1], 1.0)), 2))
        if rng.random() < 0.4:
            code = _pick(rng, _PCS) if rng.random() < 0.5 else _pick(rng, _ICD9_PROC) if rng.random() < 0.8 else _pick(rng, _CPT)
            _add(tables, "procedure_occurrence", pid, _day(rng), code, 0)
        if rng.random() < 0.3:
            _add(tables, "observation", pid, _day(rng), _pick(rng, _OBSERVATIONS), 0)
        if rng.random() < 0.1:
            _add(tables, "device_exposure", pid, _day(rng), _pick(rng, _DEVICES), 0)
    tables["concept"] = [[*c[:6], c[6], "1970-01-01", "2099-12-31", ""] for c in _CONCEPTS]
    tables["cdm_source"] = [["Synthetic extract", "ehrfeat", "5.4", "v5.0 (no vocabularies)"]]
    for name, rows in tables.items():
        with (out / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(_HEADERS[name])
            writer.writerows(rows)
    return {name: len(rows) for name, rows in tables.items()}


def _condition(tables: dict[str, list[list[object]]], rng: np.random.Generator, pid: int, icd10: str, icd9: str) -> None:
    day = _day(rng)
    code = icd10.replace(".", "") if day >= _ICD10_FROM.isoformat() else icd9.replace(".", "")
    if rng.random() < 0.15:
        code += " " * int(rng.integers(1, 4))  # fixed-width exports pad with blanks
    concept = 201826 if code.strip() in ("E119", "25000") and rng.random() < 0.5 else _pick(rng, _UNKNOWN_CONCEPTS)
    _add(tables, "condition_occurrence", pid, day, code, concept)


def _add(tables: dict[str, list[list[object]]], table: str, pid: int, day: str, source: str, concept: int,
         value: float | None = None) -> None:
    rows = tables[table]
    row: list[object] = [len(rows) + 1, pid, concept, day, source, 0]
    if table == "measurement":
        row.append(value)
    rows.append(row)


def _day(rng: np.random.Generator) -> str:
    return (_START + timedelta(days=int(rng.integers(_DAYS)))).isoformat()


def _pick(rng: np.random.Generator, items: Sequence[T]) -> T:
    return items[int(rng.integers(len(items)))]


def _domain_header(prefix: str, date_col: str) -> list[str]:
    return [f"{prefix}_id", "person_id", f"{prefix.split('_')[0]}_concept_id", date_col,
            f"{prefix.split('_')[0]}_source_value", f"{prefix.split('_')[0]}_source_concept_id"]


_HEADERS: dict[str, list[str]] = {
    "person": ["person_id", "gender_concept_id", "year_of_birth", "race_concept_id", "ethnicity_concept_id",
               "person_source_value"],
    "visit_occurrence": ["visit_occurrence_id", "person_id", "visit_concept_id", "visit_start_date", "visit_end_date",
                         "visit_source_value"],
    "condition_occurrence": _domain_header("condition_occurrence", "condition_start_date"),
    "procedure_occurrence": _domain_header("procedure_occurrence", "procedure_date"),
    "drug_exposure": _domain_header("drug_exposure", "drug_exposure_start_date"),
    "measurement": [*_domain_header("measurement", "measurement_date"), "value_as_number"],
    "observation": _domain_header("observation", "observation_date"),
    "device_exposure": _domain_header("device_exposure", "device_exposure_start_date"),
    "concept": ["concept_id", "concept_name", "domain_id", "vocabulary_id", "concept_class_id", "standard_concept",
                "concept_code", "valid_start_date", "valid_end_date", "invalid_reason"],
    "cdm_source": ["cdm_source_name", "cdm_holder", "cdm_version", "vocabulary_version"],
}
