from __future__ import annotations

import pytest

from ehrfeat.codes import Code
from ehrfeat.errors import VocabularyError
from ehrfeat.training.phecode_pairs import build_phecode_pairs, phecode_category
from ehrfeat.vocab import CodeMapping, Vocabulary
from ehrfeat.vocab.splits import HeldOutSplit


@pytest.mark.parametrize(
    ("a", "b", "cat"),
    [
        ("250.2", "250.2", 0),
        ("250.21", "250.22", 1),  # same first decimal digit
        ("250.21", "250.2", 1),
        ("250.1", "250.2", 2),  # only the integer part
        ("250", "250.2", 2),
        ("250.2", "401.1", 3),
    ],
)
def test_category_rules(a: str, b: str, cat: int) -> None:
    assert phecode_category(a, b) == cat == phecode_category(b, a)


ICD = {
    "E11.9": ("Type 2 diabetes mellitus without complications", "250.2"),
    "E11.65": ("Type 2 diabetes mellitus with hyperglycemia", "250.2"),
    "E11.22": ("Type 2 diabetes mellitus with diabetic chronic kidney disease", "250.22"),
    "E10.9": ("Type 1 diabetes mellitus without complications", "250.1"),
    "I10": ("Essential (primary) hypertension", "401.1"),
    "I15.0": ("Renovascular hypertension", "401.2"),
    "K21.9": ("Gastro-esophageal reflux disease without esophagitis", "530.11"),
}
PHE = {"250.2": "Type 2 diabetes", "250.22": "Type 2 diabetes with renal manifestations", "250.1": "Type 1 diabetes",
       "401.1": "Essential hypertension", "401.2": "Hypertensive heart and/or renal disease", "530.11": "GERD"}


def _data() -> tuple[Vocabulary, list[CodeMapping]]:
    vocab = Vocabulary()
    maps = []
    for code, (name, phe) in ICD.items():
        vocab.add("ICD10CM", code, name)
        maps.append(CodeMapping(Code.parse("ICD10CM", code), Code("PHECODE", phe), "rollsUpTo"))
        if "." in phe:  # a roll-up to the integer ancestor too: the most specific one must win
            maps.append(CodeMapping(Code.parse("ICD10CM", code), Code("PHECODE", phe.split(".")[0]), "rollsUpTo"))
    for phe, name in PHE.items():
        vocab.add("PHECODE", phe, name)
    maps.append(CodeMapping(Code("ICD10CM", "Z99.9"), Code("PHECODE", "250.2"), "rollsUpTo"))  # no text
    return vocab, maps


def test_pairs_follow_phecode_rules() -> None:
    vocab, maps = _data()
    ps = build_phecode_pairs(vocab, maps, k=5)
    phe_of = {name: phe for _, (name, phe) in ICD.items()} | {name: phe for phe, name in PHE.items()}
    assert set(ps.category_counts()) == {0, 1, 2, 3}
    for p in ps.pairs:
        assert p.category == phecode_category(phe_of[p.anchor], phe_of[p.other])
    pairs = {(p.anchor, p.other): p.category for p in ps.pairs}
    assert pairs[("Type 2 diabetes mellitus without complications", "Type 2 diabetes mellitus with hyperglycemia")] == 0
    assert pairs[("Type 2 diabetes mellitus without complications", "Type 2 diabetes")] == 0
    assert pairs[("Type 2 diabetes mellitus with diabetic chronic kidney disease", "Type 2 diabetes")] == 1
    assert pairs[("Type 1 diabetes mellitus without complications", "Type 2 diabetes")] == 2
    assert ps.skipped["mapped code without text"] == 1


def test_heldout_is_whole_integer_phecodes() -> None:
    vocab, maps = _data()
    split = next(s for s in (HeldOutSplit(0.5, salt=f"p{i}") for i in range(50))
                 if s.is_heldout("PHECODE", "250") and not s.is_heldout("PHECODE", "401"))
    phe_of = {name: phe for _, (name, phe) in ICD.items()} | {name: phe for phe, name in PHE.items()}
    train = build_phecode_pairs(vocab, maps, split=split)
    evals = build_phecode_pairs(vocab, maps, split=split, heldout=True)
    assert all(not phe_of[t].startswith("250") for p in train.pairs for t in (p.anchor, p.other))
    assert evals.pairs and all(phe_of[p.anchor].startswith("250") for p in evals.pairs)


def test_too_few_phecodes_is_an_error() -> None:
    vocab = Vocabulary()
    vocab.add("PHECODE", "250.2", "Type 2 diabetes")
    with pytest.raises(VocabularyError, match="phecode"):
        build_phecode_pairs(vocab, [])
