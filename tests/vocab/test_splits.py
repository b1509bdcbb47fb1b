from __future__ import annotations

from ehrfeat.vocab.splits import HeldOutSplit, group_of


def test_groups() -> None:
    assert group_of("ICD10CM", "E11.21") == "E11"
    assert group_of("ICD9CM", "250.02") == "250"
    assert group_of("PHECODE", "250.21") == "250"
    assert group_of("HPO", "HP:0000822") == "HP:0000822"


def test_split_is_deterministic_and_near_its_fraction() -> None:
    split = HeldOutSplit(0.1)
    groups = [f"G{i}" for i in range(5000)]
    held = [g for g in groups if split.is_heldout_group("X", g)]
    assert held == [g for g in groups if HeldOutSplit(0.1).is_heldout_group("X", g)]
    assert 0.08 < len(held) / len(groups) < 0.12
    assert split.is_heldout("ICD10CM", "E11.21") == split.is_heldout("ICD10CM", "E11.9")
    assert not HeldOutSplit(0.0).is_heldout("ICD10CM", "E11.9")
