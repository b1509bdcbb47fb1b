"""The issue's example with the real default encoder and the built-in ICD-10-CM index (built once, then cached)."""

from __future__ import annotations

import pytest
import spacy

import ehrfeat.linking.component  # noqa: F401


@pytest.mark.slow
def test_blank_pipeline_links_diabetes_and_hypertension_with_defaults():
    nlp = spacy.blank("en")
    nlp.add_pipe("ehrfeat_linker")
    doc = nlp("Patient with type 2 diabetes mellitus and essential hypertension, started metformin")
    linked = {e.text: [c.code for c in e._.ehrfeat_codes] for e in doc.ents}
    assert set(linked) == {"type 2 diabetes mellitus", "essential hypertension"}
    assert linked["type 2 diabetes mellitus"][0].startswith("E11")
    assert all(code.startswith("E11") for code in linked["type 2 diabetes mellitus"][:3])
    assert linked["essential hypertension"][0] == "I10"
    assert all(len(e._.ehrfeat_codes) == 5 and e._.ehrfeat_vector.shape == (384,) for e in doc.ents)
