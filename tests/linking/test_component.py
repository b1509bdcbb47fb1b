from __future__ import annotations

import pickle
import shutil

import numpy as np
import pytest
import spacy

import ehrfeat.linking.component  # noqa: F401  (registers the factory without the entry point)
from ehrfeat.errors import ConfigError, InputError, ModelError
from ehrfeat.linking.component import EhrfeatLinker, LinkedCode
from ehrfeat.linking.mentions import Abbreviation

NOTE = "Patient with type 2 diabetes mellitus and essential hypertension, started metformin."


class CountingEncoder:
    """Wraps an encoder and records every text it is asked to encode."""

    def __init__(self, inner):  # type: ignore[no-untyped-def]
        self.inner = inner
        self.seen: list[str] = []

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    @property
    def dim(self) -> int:
        return self.inner.dim

    def encode(self, texts, batch_size=64, show_progress_bar=False, normalize_embeddings=True):  # type: ignore[no-untyped-def]
        self.seen.extend(texts)
        return self.inner.encode(texts, batch_size=batch_size)


def _nlp(config: dict, **overrides):  # type: ignore[no-untyped-def]
    nlp = spacy.blank("en")
    nlp.add_pipe("ehrfeat_linker", config={**config, **overrides})
    return nlp


def test_dictionary_mentions_link_to_exact_names(linker_config):
    nlp = _nlp(linker_config)
    doc = nlp("Type 1 diabetes mellitus. Asthma, unspecified. Heart failure, unspecified.")
    assert [e.text for e in doc.ents] == ["Type 1 diabetes mellitus", "Asthma, unspecified", "Heart failure, unspecified"]
    top = [e._.ehrfeat_codes[0] for e in doc.ents]
    assert [(c.system, c.code) for c in top] == [("ICD10CM", "E10"), ("ICD10CM", "J45.909"), ("ICD10CM", "I50.9")]
    assert all(c.score == pytest.approx(1.0, abs=1e-5) for c in top)  # the mention is the code's own name
    assert all(isinstance(c, LinkedCode) and len(e._.ehrfeat_codes) == 3 for e, c in zip(doc.ents, top, strict=True))
    assert {e.label_ for e in doc.ents} == {"ENTITY"}


def test_term_variants_and_synonyms_are_found_case_insensitively(linker_config):
    doc = _nlp(linker_config)(NOTE + " HIGH BLOOD PRESSURE and cephalgia.")
    assert [e.text for e in doc.ents] == ["type 2 diabetes mellitus", "essential hypertension", "HIGH BLOOD PRESSURE", "cephalgia"]
    vector = doc.ents[0]._.ehrfeat_vector
    assert vector.dtype == np.float32 and vector.shape == (32,) and np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
    assert doc.ents[0]._.ehrfeat_codes[0].code == "E11"


def test_longest_match_wins_without_overlaps(linker_config):
    doc = _nlp(linker_config)("History: type 2 diabetes mellitus without complications; diabetes mellitus in mother.")
    assert [e.text for e in doc.ents] == ["type 2 diabetes mellitus without complications", "diabetes mellitus"]
    assert doc.ents[0]._.ehrfeat_codes[0].code == "E11.9"


def test_upstream_entities_are_used_instead_of_the_dictionary(linker_config):
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "CHEMICAL", "pattern": "metformin"}, {"label": "DISEASE", "pattern": "asthma"}])
    nlp.add_pipe("ehrfeat_linker", config={**linker_config, "labels": ["DISEASE", "CHEMICAL"]})
    doc = nlp("Type 2 diabetes mellitus, asthma, started metformin.")
    assert [(e.text, e.label_) for e in doc.ents] == [("asthma", "DISEASE"), ("metformin", "CHEMICAL")]
    assert all(e._.ehrfeat_codes and e._.ehrfeat_vector is not None for e in doc.ents)
    nothing = nlp("Type 2 diabetes mellitus.")  # the NER ran and found nothing: no dictionary fallback
    assert nothing.ents == ()


def test_always_adds_dictionary_mentions_to_upstream_entities(linker_config):
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "CHEMICAL", "pattern": "metformin"}])
    nlp.add_pipe("ehrfeat_linker", config={**linker_config, "detect_mentions": "always"})
    doc = nlp(NOTE)
    assert [e.text for e in doc.ents] == ["type 2 diabetes mellitus", "essential hypertension", "metformin"]
    assert doc.ents[2].label_ == "CHEMICAL" and doc.ents[2]._.ehrfeat_codes is not None


def test_threshold_gives_no_codes_rather_than_wrong_codes(linker_config):
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "X", "pattern": "Type 1 diabetes mellitus"}, {"label": "X", "pattern": "qzxv"}])
    nlp.add_pipe("ehrfeat_linker", config={**linker_config, "threshold": 0.9999})
    doc = nlp("Type 1 diabetes mellitus and qzxv")
    exact, garbage = doc.ents
    assert [c.code for c in exact._.ehrfeat_codes] == ["E10"]  # only the exact name clears 0.9999
    assert garbage._.ehrfeat_codes == [] and garbage._.ehrfeat_vector is not None


def test_systems_restrict_the_codes(linker_config):
    doc = _nlp(linker_config, systems=["HPO"])("Headache and asthma, unspecified")
    assert {c.system for e in doc.ents for c in e._.ehrfeat_codes} == {"HPO"}


def test_empty_garbage_and_non_english_documents(linker_config, tmp_path):
    nlp = _nlp(linker_config)
    for text in ["", "   \n\t ", "\x00\x01 ��� ####", "患者は糖尿病です。", "Der Patient hat Bluthochdruck."]:
        doc = nlp(text)
        assert doc.ents == () and list(doc.spans["ehrfeat_mentions"]) == []  # the group is there, empty
    missing = _nlp(linker_config, index={"path": str(tmp_path / "nowhere")})
    assert missing("").ents == ()  # empty documents never need the index
    docs = list(nlp.pipe(["", "Asthma noted.", ""]))  # an empty note in a batch with mentions
    assert [[m.text for m in d.spans["ehrfeat_mentions"]] for d in docs] == [[], ["Asthma"], []]


def test_very_long_document_encodes_each_distinct_mention_once(linker_config, tiny_encoder):
    nlp = _nlp(linker_config)
    counting = CountingEncoder(tiny_encoder)
    nlp.get_pipe("ehrfeat_linker").set_encoder(counting)
    text = " ".join([NOTE, "Asthma noted."] * 2000)  # ~200k characters
    doc = nlp(text)
    assert len(doc.ents) == 6000
    assert sorted(counting.seen) == ["Asthma", "essential hypertension", "type 2 diabetes mellitus"]
    assert all(e._.ehrfeat_codes for e in doc.ents)


def test_pipe_batches_and_caches_identical_mentions(linker_config, tiny_encoder):
    nlp = _nlp(linker_config)
    counting = CountingEncoder(tiny_encoder)
    nlp.get_pipe("ehrfeat_linker").set_encoder(counting)
    texts = [NOTE, "Asthma.", "", NOTE.upper()] * 5
    docs = list(nlp.pipe(texts, batch_size=3))
    assert [len(d.ents) for d in docs] == [2, 1, 0, 2] * 5
    assert sorted(counting.seen) == sorted(["type 2 diabetes mellitus", "essential hypertension", "Asthma", "TYPE 2 DIABETES MELLITUS", "ESSENTIAL HYPERTENSION"])
    single = nlp(NOTE)
    assert [c.code for c in single.ents[0]._.ehrfeat_codes] == [c.code for c in docs[0].ents[0]._.ehrfeat_codes]


def test_abbreviations_link_through_their_long_form(linker_config, tiny_encoder):
    nlp = _nlp(linker_config)
    linker = nlp.get_pipe("ehrfeat_linker")
    counting = CountingEncoder(tiny_encoder)
    linker.set_encoder(counting)
    text = "Known type 2 diabetes mellitus (T2DM). T2DM controlled."
    starts = [i for i in range(len(text)) if text.startswith("T2DM", i)]
    linker.set_abbreviation_detector(lambda doc: [Abbreviation(s, s + 4, "type 2 diabetes mellitus") for s in starts])
    doc = nlp(text)
    assert [e.text for e in doc.ents] == ["type 2 diabetes mellitus", "T2DM", "T2DM"]
    assert counting.seen == ["type 2 diabetes mellitus"]
    assert doc.ents[1]._.ehrfeat_codes == doc.ents[0]._.ehrfeat_codes


def test_missing_index_names_how_to_build_one(linker_config, tmp_path):
    nlp = _nlp(linker_config, index={"path": str(tmp_path / "no-index")})
    with pytest.raises(InputError, match="ehrfeat build-index"):
        nlp(NOTE)
    db = tmp_path / "empty.db"
    db.write_bytes(b"")
    nlp = _nlp(linker_config, index={"db": str(db)})
    with pytest.raises(InputError, match=r"ehrfeat embed-codes .*empty\.db"):
        nlp(NOTE)


def test_index_of_another_encoder_is_refused(linker_config, tiny_bert, tmp_path):
    from ehrfeat.training.tiny_model import make_tiny_bert

    other = make_tiny_bert(tmp_path / "other", seed=3)
    nlp = _nlp(linker_config, model=str(other))
    with pytest.raises(ModelError, match="E340"):
        nlp(NOTE)


@pytest.mark.parametrize(
    "bad",
    [{"k": 0}, {"threshold": 1.5}, {"detect_mentions": "sometimes"}, {"index": {"path": "a", "db": "b"}}, {"index": {"url": "x"}}],
)
def test_bad_settings_are_refused_when_added(linker_config, bad):
    with pytest.raises(ConfigError):
        _nlp(linker_config, **bad)


def test_component_pickles_without_its_encoder(linker_config):
    nlp = _nlp(linker_config)
    nlp(NOTE)
    linker = nlp.get_pipe("ehrfeat_linker")
    assert linker._mention_vectors._encoder is not None
    clone = pickle.loads(pickle.dumps(linker))
    assert isinstance(clone, EhrfeatLinker) and clone._mention_vectors._encoder is None and clone._matcher is None
    assert len(clone.index) == len(linker.index)


def test_to_disk_and_spacy_load_keep_config_and_index(linker_config, small_index_dir, tmp_path):
    index_copy = tmp_path / "index-copy"
    shutil.copytree(small_index_dir, index_copy)
    nlp = _nlp(linker_config, index={"path": str(index_copy)}, k=2)
    before = nlp(NOTE)
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(index_copy)  # the saved pipeline must not need the original index
    loaded = spacy.load(tmp_path / "pipeline")
    cfg = loaded.config["components"]["ehrfeat_linker"]
    assert cfg["k"] == 2 and cfg["index"] == {"path": str(index_copy)} and cfg["model"] == linker_config["model"]
    after = loaded(NOTE)
    assert [e.text for e in after.ents] == [e.text for e in before.ents]
    assert [e._.ehrfeat_codes for e in after.ents] == [e._.ehrfeat_codes for e in before.ents]
    assert np.allclose(after.ents[0]._.ehrfeat_vector, before.ents[0]._.ehrfeat_vector, atol=1e-6)


def test_pipe_with_two_processes_matches_one(linker_config, tmp_path):
    nlp = _nlp(linker_config)
    nlp(NOTE)  # the parent has used its encoder: workers must load their own
    nlp.to_disk(tmp_path / "pipeline")
    texts = [NOTE, "Asthma and headache.", "", "nothing to link here", "No asthma. Mother with headache."] * 6
    serial = list(nlp.pipe(texts))
    parallel = list(spacy.load(tmp_path / "pipeline").pipe(texts, n_process=2, batch_size=4))
    assert [[e.text for e in d.ents] for d in parallel] == [[e.text for e in d.ents] for d in serial]
    for a, b in zip(parallel, serial, strict=True):
        for ea, eb in zip(a.ents, b.ents, strict=True):
            assert [c[:2] for c in ea._.ehrfeat_codes] == [c[:2] for c in eb._.ehrfeat_codes]
            assert (ea._.ehrfeat_negated, ea._.ehrfeat_family) == (eb._.ehrfeat_negated, eb._.ehrfeat_family)
            assert all(isinstance(c, LinkedCode) for c in ea._.ehrfeat_codes)
            assert ea._.ehrfeat_vector.dtype == np.float32


def test_systems_absent_from_the_index_are_a_clear_error(linker_config):
    nlp = _nlp(linker_config, systems=["ICD9CM"])
    with pytest.raises(ConfigError, match="E424"):
        nlp(NOTE)


def test_settings_are_stated_once_and_are_the_factory_defaults(linker_config):
    from ehrfeat.linking.component import DEFAULT_CONFIG, LinkerSettings

    assert LinkerSettings().spacy_config() == DEFAULT_CONFIG
    nlp = _nlp(linker_config, k=2)
    linker = nlp.get_pipe("ehrfeat_linker")
    assert linker.settings == LinkerSettings(**{**linker_config, "k": 2}) and linker.k == 2
    assert nlp.get_pipe_config("ehrfeat_linker")["batch_size"] == LinkerSettings().batch_size
    with pytest.raises(ConfigError, match="k must be"):
        LinkerSettings(k=0)
    with pytest.raises(Exception, match="nonsense"):  # spaCy checks the config against the settings' fields
        _nlp(linker_config, nonsense=1)


def test_upstream_entities_are_never_clobbered(linker_config):
    nlp = spacy.blank("en")
    # an upstream entity inside a longer dictionary term, and one the linker does not link (other label)
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "DRUG", "pattern": "diabetes"}, {"label": "X", "pattern": "asthma"}])
    nlp.add_pipe("ehrfeat_linker", config={**linker_config, "detect_mentions": "always", "labels": ["DRUG"]})
    doc = nlp("Type 1 diabetes mellitus, asthma and essential hypertension.")
    assert [(e.text, e.label_) for e in doc.ents] == [("diabetes", "DRUG"), ("asthma", "X"), ("essential hypertension", "ENTITY")]
    mentions = doc.spans["ehrfeat_mentions"]
    assert [m.text for m in mentions] == ["diabetes", "essential hypertension"]
    assert all(m._.ehrfeat_codes for m in mentions)
