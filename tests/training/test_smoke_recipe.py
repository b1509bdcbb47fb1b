"""The smoke recipe end to end: trains in CI and beats its own starting point on held-out groups."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ehrfeat.training.loop import train


@pytest.mark.slow
def test_smoke_recipe_beats_its_starting_point(tmp_path: Path) -> None:
    out = train("smoke", tmp_path / "smoke", progress=False)
    m = json.loads((out / "ehrfeat_manifest.json").read_text())
    base, trained = m["evaluation"]["base"], m["evaluation"]["trained"]
    assert trained["pairs"] > 500 and trained["synonym_queries"] > 20
    # categories ordered by cosine: far better than the random start
    assert trained["spearman"] > base["spearman"] + 0.1
    for key in ("auc_0v3", "auc_1v3", "auc_2v3"):
        assert trained[key] > base[key] + 0.05, key
    aucs = [k for k in trained if k.startswith("auc_")]
    assert len(aucs) == 6
    assert sum(trained[k] for k in aucs) > sum(base[k] for k in aucs) + 0.3
    held = next(s for s in m["data_sources"] if s["name"] == "icd10cm")["heldout"]
    assert held["pairs"] == trained["pairs"]
