from __future__ import annotations

import json

import numpy as np
import pytest

from ehrfeat.codes import Code
from ehrfeat.errors import ConfigError, InputError
from ehrfeat.linking import IndexSpec, build_index, cache_dir, load_index, parse_index_spec, save_index
from ehrfeat.linking.terms import term_variants, usable_term


@pytest.mark.parametrize(
    ("term", "variants"),
    [
        ("Essential (primary) hypertension", ["Essential (primary) hypertension", "Essential hypertension"]),
        ("Headache, unspecified", ["Headache, unspecified", "Headache"]),
        ("Facial pain NOS", ["Facial pain NOS", "Facial pain"]),
        ("Type 2 diabetes mellitus without complications", ["Type 2 diabetes mellitus without complications", "Type 2 diabetes mellitus"]),
        ("hypertension (arterial) (benign) (essential)", ["hypertension (arterial) (benign) (essential)", "hypertension"]),
        ("Asthma", ["Asthma"]),
    ],
)
def test_term_variants(term, variants):
    assert term_variants(term) == variants


@pytest.mark.parametrize(("term", "ok"), [("Headache", True), ("All", False), ("of the", False), ("12.5", False), ("T2", False), ("unspecified", False), ("type 2 diabetes", True)])
def test_usable_term(term, ok):
    assert usable_term(term) is ok


def test_index_round_trip_and_terms(small_vocab, tiny_encoder, tmp_path):
    index = build_index(small_vocab, tiny_encoder, systems=["ICD10CM"], source="unit")
    assert {c.system for c in index.embeddings.codes} == {"ICD10CM"} and len(index) == 8
    assert "Essential hypertension" in index.terms and "high blood pressure" in index.terms and "Headache" not in index.terms
    loaded = load_index(save_index(index, tmp_path / "idx"))
    assert loaded.embeddings.codes == index.embeddings.codes and loaded.terms == index.terms and loaded.source == "unit"
    assert np.array_equal(loaded.embeddings.matrix, index.embeddings.matrix) and loaded.fingerprint == tiny_encoder.fingerprint
    _, rows = loaded.search(index.embeddings.matrix, 1)
    assert [loaded.embeddings.codes[r] for r in rows[:, 0]] == list(index.embeddings.codes)
    assert loaded.embeddings.codes[:2] == (Code("ICD10CM", "E10"), Code("ICD10CM", "E11"))


def test_broken_index_folders_name_the_fix(small_index_dir, tmp_path):
    with pytest.raises(InputError, match="build-index"):
        load_index(tmp_path)
    broken = tmp_path / "broken"
    save_index(load_index(small_index_dir), broken)
    meta = json.loads((broken / "index.json").read_text())
    (broken / "index.json").write_text(json.dumps({**meta, "codes": meta["codes"][:-1]}))
    with pytest.raises(InputError, match="does not match"):
        load_index(broken)


def test_index_settings(monkeypatch, tmp_path):
    assert parse_index_spec({}) == IndexSpec("builtin")
    assert parse_index_spec({"db": "p.db"}) == IndexSpec("db", "p.db")
    assert parse_index_spec({"path": "x", "max_code_length": 7}) == IndexSpec("path", "x", max_code_length=7)
    for bad in ({"builtin": False}, {"max_code_length": 9}, {"path": "x", "builtin": True}):
        with pytest.raises(ConfigError):
            parse_index_spec(bad)
    monkeypatch.setenv("EHRFEAT_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("EHRFEAT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "ehrfeat"
