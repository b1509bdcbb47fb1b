"""embed-codes on MEDS: texts for ICD-9/10 diagnosis paths from the dictionaries, a parquet MEDS tools join on
``code``, re-runs that embed only new codes, and codes.parquet left alone unless --update-codes."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from ehrfeat.embed_meds import embed_meds_codes
from ehrfeat.errors import InputError
from ehrfeat.models import load_encoder
from ehrfeat.store.meds.codes import FROM_DICTIONARY, UNRESOLVED
from ehrfeat.vocab.readers.icd9cm import read_icd9cm_descriptions
from tests.meds_data import EVENTS, write_events


@pytest.fixture(scope="module")
def encoder(tiny_bert):
    return load_encoder(tiny_bert)


def _diagnosis_codes(n: int = 200) -> list[str]:
    """ICD-10-CM leaves and ICD-9-CM codes written as MIMIC-IV MEDS does (no dots, version part), and 4 bad ones."""
    import simple_icd_10_cm as icd

    icd10 = [c for c in icd.get_all_codes(with_dots=False) if icd.is_leaf(c)][::400][: n // 2]
    icd9 = list(islice((c.replace(".", "") for c in read_icd9cm_descriptions()), 0, None, 60))[: n // 2]
    bad = ["DIAGNOSIS//ICD//10//XYZ99", "DIAGNOSIS//ICD//9//99999", "DIAGNOSIS//ICD//10//Q99.9X", "DIAGNOSIS//ICD//9//V999"]
    return [*(f"DIAGNOSIS//ICD//10//{c}" for c in icd10), *(f"DIAGNOSIS//ICD//9//{c}" for c in icd9), *bad]


def test_at_least_95_percent_of_icd_diagnosis_codes_get_a_dictionary_text(tmp_path, encoder):
    codes = _diagnosis_codes()
    events = [(i % 50 + 1, f"2020-01-{i % 28 + 1:02d}T00:00", c) for i, c in enumerate(codes)]
    root = write_events(tmp_path / "m", events, descriptions={"x": "unused"})
    report = embed_meds_codes(root, encoder=encoder, batch_size=64)
    assert report.codes_found == len(codes)
    dictionary = sum(report.by_source.get(FROM_DICTIONARY, {}).values())
    assert dictionary / len(codes) >= 0.95
    assert sum(report.text_sources.values()) == len(codes)  # every distinct code reported once, by how its text was found
    assert report.by_source[FROM_DICTIONARY].keys() == {"ICD10CM", "ICD9CM"}
    assert sum(report.unresolved.values()) == report.text_sources.get(UNRESOLVED, 0) >= 3
    assert "text found by" in "\n".join(report.lines())
    unresolved_all = [c for listed in report.unresolved_codes.values() for c in listed]  # every one, for --report
    assert len(unresolved_all) == sum(report.unresolved.values()) and "DIAGNOSIS//ICD//10//XYZ99" in unresolved_all
    table = pq.read_table(root / "metadata" / "ehrfeat_code_embeddings.parquet")
    assert len(table) == dictionary + report.text_sources.get("words in the code", 0)


def test_output_file_joins_on_code_and_reruns_embed_only_new_codes(tmp_path, encoder):
    root = write_events(tmp_path / "m")
    before = (root / "metadata" / "codes.parquet").read_bytes()
    first = embed_meds_codes(root, encoder=encoder)
    path = root / "metadata" / "ehrfeat_code_embeddings.parquet"
    table = pq.read_table(path)
    assert table.column_names == ["code", "text", "text_source", "system", "vector"]
    assert table.schema.field("vector").type == pa.list_(pa.float32(), encoder.dim)
    meta = json.loads(table.schema.metadata[b"ehrfeat"])
    assert meta["fingerprint"] == encoder.fingerprint
    assert set(table.column("code").to_pylist()) == {e[2] for e in EVENTS}  # exactly as in the data
    texts = dict(zip(table.column("code").to_pylist(), table.column("text").to_pylist(), strict=True))
    assert texts["LAB//4548-4//UNK"] == "Hemoglobin A1c"  # codes.parquet first
    assert texts["DIAGNOSIS//ICD//9//4280"].startswith("Congestive heart failure")
    assert texts["MEDICATION//START//metformin"] == "metformin"
    assert first.embedded_now == 5 and (root / "metadata" / "codes.parquet").read_bytes() == before
    again = embed_meds_codes(root, encoder=encoder)
    assert (again.embedded_now, again.already_cached) == (0, 5)
    write_events(root, [*EVENTS, (3, "2020-06-01T00:00", "DIAGNOSIS//ICD//10//I509")])
    third = embed_meds_codes(root, encoder=encoder)
    assert (third.embedded_now, third.already_cached) == (1, 5)
    old = {c: v for c, v in zip(table.column("code").to_pylist(), table.column("vector").to_pylist(), strict=True)}
    new = pq.read_table(path)
    kept = dict(zip(new.column("code").to_pylist(), new.column("vector").to_pylist(), strict=True))
    assert all(np.allclose(kept[c], v) for c, v in old.items())


def test_another_encoder_never_mixes_into_the_file(tmp_path, encoder, tiny_bert):
    from ehrfeat.training.tiny_model import make_tiny_bert

    root = write_events(tmp_path / "m")
    embed_meds_codes(root, encoder=encoder)
    other = load_encoder(make_tiny_bert(tmp_path / "other", seed=1))
    with pytest.raises(InputError) as err:
        embed_meds_codes(root, encoder=other)
    assert err.value.code == "E1507" and "--out" in str(err.value)
    report = embed_meds_codes(root, encoder=other, out=tmp_path / "other.parquet")
    assert report.embedded_now == 5


def test_update_codes_rewrites_codes_parquet_with_texts_and_vectors(tmp_path, encoder):
    root = write_events(tmp_path / "m")
    embed_meds_codes(root, encoder=encoder, update_codes=True)
    table = pq.read_table(root / "metadata" / "codes.parquet")
    rows = {r["code"]: r for r in table.to_pylist()}
    assert rows["LAB//4548-4//UNK"]["description"] == "Hemoglobin A1c"
    assert rows["DIAGNOSIS//ICD//10//E119"]["description"].startswith("Type 2 diabetes mellitus without complications")
    assert len(rows["ICD10CM/I10"]["ehrfeat_vector"]) == encoder.dim
    assert "parent_codes" in table.column_names
    assert not list((root / "metadata").glob(".*.tmp"))


def test_cli_detects_meds_and_writes_to_out(tmp_path, tiny_bert):
    root = write_events(tmp_path / "m")
    out = tmp_path / "vectors.parquet"
    result = CliRunner().invoke(app, ["embed-codes", str(root), "--model", str(tiny_bert), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "MEDS dataset:" in result.output and "built-in dictionary" in result.output and out.is_file()
    assert not (root / "metadata" / "ehrfeat_code_embeddings.parquet").exists()


def test_meds_vectors_after_embed_codes(tmp_path, encoder):
    from ehrfeat.patients.meds_vectors import meds_patient_vectors

    root = write_events(tmp_path / "m")
    embed_meds_codes(root, encoder=encoder)
    v = meds_patient_vectors(root)
    assert v.matrix.shape == (3, encoder.dim) and not v.no_codes.any()
    assert np.allclose(np.linalg.norm(v.matrix[2]), 1.0, atol=1e-5)  # subject 3: one code, its unit vector


def test_a_path_given_as_code_rules_must_exist(tmp_path, encoder):
    root = write_events(tmp_path / "m")
    with pytest.raises(Exception) as err:
        embed_meds_codes(root, encoder=encoder, code_rules=Path(tmp_path / "nope.toml"))
    assert "E1501" in str(err.value)


def test_unresolved_reasons_say_where_a_description_goes(tmp_path, encoder, monkeypatch):
    from ehrfeat.store.meds import codes
    from ehrfeat.vocab.builtin import PHECODE_DIR_ENV, BuiltinDictionaries

    monkeypatch.delenv(PHECODE_DIR_ENV, raising=False)
    monkeypatch.setattr(codes, "builtin_dictionaries", BuiltinDictionaries)  # a fresh one, without a PheCode folder
    root = write_events(tmp_path / "m", [(1, "2020-01-01T00:00", "LOINC/2345-7"), (1, "2020-01-02T00:00", "PHECODE/250.2"),
                                         (1, "2020-01-03T00:00", "ICD10CM/I10")])
    report = embed_meds_codes(root, encoder=encoder)
    assert report.unresolved_examples == {
        "no description in metadata/codes.parquet, and no built-in dictionary for LOINC": ["LOINC/2345-7"],
        "no description in metadata/codes.parquet; the built-in PHECODE dictionary reads pheinfo.csv from "
        "$EHRFEAT_PHECODE_DIR (not set)": ["PHECODE/250.2"],
    }
