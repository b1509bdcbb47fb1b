"""Built-in dictionaries: lazy per system, odd code forms resolve, PheCode only with its folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.vocab.builtin import PHECODE_DIR_ENV, BuiltinDictionaries, builtin_dictionaries

PHE = Path(__file__).parents[1] / "fixtures" / "vocab" / "phecode"


def test_systems_and_lazy_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PHECODE_DIR_ENV, raising=False)
    dicts = BuiltinDictionaries()
    assert dicts.systems == ("ICD10CM", "ICD9CM", "ICD10PCS", "ICD9Proc", "HPO")
    assert dicts.describe("icd9", "4280") == "Congestive heart failure, unspecified"
    assert dicts.loaded("ICD9CM") and not dicts.loaded("ICD10CM") and not dicts.loaded("HPO")
    assert dicts.describe("PHECODE", "250.2") is None
    assert dicts.describe("ICD10PCS", "0dtj4zz") == "Resection of Appendix, Percutaneous Endoscopic Approach"
    assert dicts.describe("ICD9Proc", "3893") == dicts.describe("icd9proc", "38.93") == "Venous catheterization, not elsewhere classified"


def test_procedure_dictionaries() -> None:
    dicts = BuiltinDictionaries(phecode_dir="")
    assert dicts.describe("ICD9Proc", "5491") == dicts.describe("ICD9Proc", "54.91") == "Percutaneous abdominal drainage"
    assert (dicts.describe("ICD10PCS", "0016070") or "").startswith("Bypass Cerebral Ventricle to Nasopharynx")
    assert dicts.describe("ICD10PCS", "ZZZZZZZ") is None


def test_icd10cm_forms() -> None:
    dicts = BuiltinDictionaries(phecode_dir="")
    for form in ("E119", "e11.9", " E11.9"):
        assert dicts.describe("ICD10CM", form) == "Type 2 diabetes mellitus without complications"
    assert dicts.describe("icd-10-cm", "B99") == "Other and unspecified infectious diseases"
    assert dicts.describe("ICD10CM", "E08-E13") is None  # a block, not a code
    assert dicts.describe("ICD10CM", "Z99.99") is None
    assert dicts.loaded("ICD10CM") and not dicts.loaded("HPO")


def test_unknown_inputs_give_none() -> None:
    dicts = BuiltinDictionaries(phecode_dir="")
    assert dicts.describe("LOINC", "2345-7") is None
    assert dicts.describe("bad system!", "x") is None
    assert dicts.describe("ICD9CM", "not a code") is None


def test_phecode_from_folder(tmp_path: Path) -> None:
    dicts = BuiltinDictionaries(phecode_dir=PHE)
    assert "PHECODE" in dicts.systems
    assert dicts.describe("phecode", "250.21") == "Type 2 diabetes, uncomplicated"
    (tmp_path / "pheinfo.csv").write_text("phecode,description\n")
    assert "PHECODE" not in BuiltinDictionaries(phecode_dir=tmp_path).systems  # no phecode_map.csv


def test_phecode_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PHECODE_DIR_ENV, str(PHE))
    assert BuiltinDictionaries().describe("PHECODE", "401") == "Hypertension"


@pytest.mark.slow
def test_hpo() -> None:
    dicts = BuiltinDictionaries(phecode_dir="")
    assert dicts.describe("HPO", "hp_0001250") == "Seizure"
    assert dicts.describe("hp", "1250") == "Seizure"


def test_process_wide_instance() -> None:
    assert builtin_dictionaries() is builtin_dictionaries()
