"""benchmarks/qualifier_pairs.py finds 7th-character families and shared endings among held-out pairs, exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ehrfeat.evaluation.heldout import EvalSet
from tests.helpers import script_module

NAMES = {  # ICD-10-CM's own names (simple-icd-10-cm)
    "S72.001": "Fracture of unspecified part of neck of right femur",
    "S72.001A": "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture",
    "S72.001D": "Fracture of unspecified part of neck of right femur, subsequent encounter for closed fracture with routine healing",
    "S72.002A": "Fracture of unspecified part of neck of left femur, initial encounter for closed fracture",
    "S52.501A": "Unspecified fracture of the lower end of right radius, initial encounter for closed fracture",
    "I10": "Essential (primary) hypertension",
    "E11.9": "Type 2 diabetes mellitus without complications",
    "E10.9": "Type 1 diabetes mellitus without complications",
}


@pytest.mark.slow
def test_kinds_of_pairs_are_counted_and_the_what_ifs_keep_an_unchanged_model(tiny_bert: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    n = NAMES
    pairs = (
        ("icd10cm", n["I10"], "Hypertension NOS", 0),
        ("icd10cm", n["S72.001A"], n["S72.001D"], 1),  # family: only the 7th character differs
        ("icd10cm", n["S72.001"], n["S72.001A"], 1),  # family: the 6-character parent
        ("icd10cm", n["S72.001A"], n["S72.002A"], 1),  # other laterality: a shared ending, no family
        ("icd10cm", n["E11.9"], "Type 2 diabetes mellitus", 2),
        ("icd10cm", n["S72.001A"], n["S52.501A"], 3),  # random, with the same ending
        ("icd10cm", n["I10"], n["E11.9"], 3),
        ("phecode", n["S72.001A"], n["S72.001D"], 0),
        ("phecode", n["S72.002A"], n["S52.501A"], 1),
        ("phecode", n["I10"], n["E10.9"], 3),
    )
    model = tmp_path / "model"
    shutil.copytree(tiny_bert, model)
    EvalSet(pairs, ()).save(model / "ehrfeat_heldout.json")
    module = script_module("benchmarks", "qualifier_pairs")

    out = module.main(["--model", str(model), "--base", str(model)])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == out  # one JSON line, the returned result
    assert out["held_out_pairs"] == len(pairs)
    assert {k: v["pairs"] for k, v in out["family_pairs"].items()} == {"icd10cm:1": 2, "phecode:0": 1}
    assert {k: v["pairs"] for k, v in out["shared_ending_pairs"].items()} == {"icd10cm:1": 1, "icd10cm:3": 1, "phecode:1": 1}
    assert {k: v["pairs"] for k, v in out["other_far_pairs"].items()} == {"icd10cm:3": 1, "phecode:3": 1}
    for kind in ("family_pairs", "shared_ending_pairs", "other_far_pairs"):
        assert all(v["base"] == v["trained"] for v in out[kind].values())
    assert set(out["rows"]) >= {"pooled:auc_0v1", "icd10cm:auc_1v3", "phecode:auc_0v1"}
    for row in out["rows"].values():  # base and trained are one model: no what-if can move a row
        assert row["base"] == row["trained"] == row["what_if_family_at_base"] == row["what_if_shared_at_base"]
