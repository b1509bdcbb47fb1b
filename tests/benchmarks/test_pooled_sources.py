"""benchmarks/pooled_sources.py splits each pooled AUC row by source, checked by hand and against ``evaluate``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from ehrfeat.evaluation.heldout import EvalSet, evaluate_encoder
from ehrfeat.models.loader import load_encoder
from tests.helpers import script_module


def _script() -> ModuleType:
    return script_module("benchmarks", "pooled_sources")


def test_each_sources_share_of_a_pooled_row_by_hand() -> None:
    # pos (category 0): hpo 0.8 -> 0.8, phecode 0.65 -> 0.6; neg (category 1): icd10cm 0.7 -> 0.55, hpo 0.3 -> 0.3
    base = np.array([0.8, 0.65, 0.7, 0.3])
    trained = np.array([0.8, 0.6, 0.55, 0.3])
    cats = np.array([0, 0, 1, 1])
    sources = np.array(["hpo", "phecode", "icd10cm", "hpo"])
    rows = _script().pooled_shares(base, trained, cats, sources)
    assert set(rows) == {"auc_0v1"}  # no category-2 pairs: no 0v2 or 1v2 row
    row = rows["auc_0v1"]
    assert (row["base"], row["trained"]) == (0.75, 1.0)  # base: 0.65 < 0.7 is the one pair of four out of order
    by = row["by_source"]
    assert by["icd10cm"]["pooled_if_at_base"] == 0.75  # the whole gain: the ICD-10-CM pair fell under the phecode pair
    assert by["phecode"]["pooled_if_at_base"] == 1.0 and by["hpo"]["pooled_if_at_base"] == 1.0
    assert by["hpo"] == {"pairs_0": 1, "pairs_1": 1, "base_mean_0": 0.8, "base_mean_1": 0.3, "trained_mean_0": 0.8,
                         "trained_mean_1": 0.3, "pooled_if_at_base": 1.0}
    assert by["phecode"]["pairs_1"] == 0 and by["phecode"]["base_mean_1"] is None


@pytest.mark.slow
def test_script_rows_are_those_of_evaluate(tiny_bert: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ehrfeat.training.tiny_model import make_tiny_bert

    pairs = (
        ("hpo", "Abnormality of the heart", "Cardiac abnormality", 0),
        ("hpo", "Abnormality of the heart", "Abnormal heart valve", 1),
        ("hpo", "Abnormality of the heart", "Heart murmur", 2),
        ("phecode", "Essential hypertension", "Hypertension NOS", 0),
        ("phecode", "Essential hypertension", "Secondary hypertension", 1),
        ("icd10cm", "Type 2 diabetes mellitus", "Type 1 diabetes mellitus", 1),
        ("icd10cm", "Type 2 diabetes mellitus", "Diabetes mellitus due to underlying condition", 2),
        ("icd10cm", "Type 2 diabetes mellitus", "Acute bronchitis", 3),
    )
    base = tmp_path / "base"
    shutil.copytree(tiny_bert, base)
    trained = make_tiny_bert(tmp_path / "trained", seed=1)  # another random model: rows that differ from the base's
    EvalSet(pairs, ()).save(trained / "ehrfeat_heldout.json")

    out = _script().main(["--model", str(trained), "--base", str(base)])
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == out  # one JSON line, the returned result
    assert out["held_out_pairs"] == len(pairs)
    expected = {label: evaluate_encoder(load_encoder(str(path)), EvalSet(pairs, ())) for label, path in (("base", base), ("trained", trained))}
    assert set(out["rows"]) == {"auc_0v1", "auc_0v2", "auc_1v2"}
    for name, row in out["rows"].items():
        assert row["base"] == round(expected["base"][name], 4) and row["trained"] == round(expected["trained"][name], 4)
    assert out["rows"]["auc_0v1"]["base"] != out["rows"]["auc_0v1"]["trained"] or out["rows"]["auc_1v2"]["base"] != out["rows"]["auc_1v2"]["trained"]
    assert set(out["rows"]["auc_0v1"]["by_source"]) == {"hpo", "phecode", "icd10cm"}
    assert set(out["rows"]["auc_0v2"]["by_source"]) == {"hpo", "phecode", "icd10cm"}
    cos = load_encoder(str(trained)).encode(["Type 2 diabetes mellitus", "Type 1 diabetes mellitus"], normalize_embeddings=True)
    assert out["rows"]["auc_0v1"]["by_source"]["icd10cm"]["trained_mean_1"] == round(float(cos[0] @ cos[1]), 4)
