"""The store, embed-codes, patient-vectors and similar on SQLite, a real PostgreSQL server and DuckDB alike."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from ehrfeat.embed import embed_codes
from ehrfeat.errors import InputError
from ehrfeat.patients import patient_vectors
from ehrfeat.similar import similar_codes
from ehrfeat.store import EmbeddingCache, create_native_schema, distinct_codes, open_database
from ehrfeat.store.schema import detect_schema, native_metadata
from tests.omop_data import HashEncoder

EVENTS = [
    (1, "2019-01-01", "ICD10CM", "E11.9", None), (1, "2019-06-01", "icd-10-cm", "e119 ", None),
    (1, "2019-03-01", "ICD10CM", "I10", None), (2, "2019-02-01", "ICD10CM", "I10", None),
    (2, "2019-02-01", "LOINC", "2345-7", 5.4), (2, "2019-02-03", "ICD9CM", "4280", None),
    (3, "2019-02-01", "LOCAL", "X-1", None), (3, "2020-02-01", "ICD10CM", "J44.1", None),
    (4, None, "ICD10CM", "E11.65", None), (4, "2018-01-01", "ICD10CM", "NOT A CODE", None),
]
VOCABULARY = [("LOINC", "2345-7", "Glucose [Mass/volume] in Serum or Plasma"), ("LOCAL", "X-1", "Local thing")]


def write_native(url: str, events: list[tuple] = EVENTS) -> str:
    """The native schema with ``events`` written through SQLAlchemy (any backend)."""
    engine = open_database(url, must_exist=False)
    create_native_schema(engine)
    md = native_metadata()
    with engine.begin() as conn:
        conn.execute(sa.insert(md.tables["patients"]), [{"patient_id": p} for p in sorted({e[0] for e in events})])
        conn.execute(sa.insert(md.tables["events"]), [dict(zip(("patient_id", "time", "code_system", "code", "value"), e,
                                                               strict=True)) for e in events])
        conn.execute(sa.insert(md.tables["vocabulary"]), [dict(zip(("code_system", "code", "description"), v, strict=True))
                                                          for v in VOCABULARY])
    engine.dispose()
    return url


def test_embed_codes_and_read_back(backend_url: str) -> None:
    database_url = write_native(backend_url)
    encoder = HashEncoder()
    report = embed_codes(database_url, encoder=encoder, batch_size=2)
    assert report.embedded_now == 7 and sum(report.unresolved.values()) == 0
    again = embed_codes(database_url, encoder=encoder, batch_size=2)
    assert again.embedded_now == 0 and again.already_cached == 7  # no duplicate rows on a re-run
    engine = open_database(database_url)
    loaded = EmbeddingCache(engine).load()
    codes, skipped = distinct_codes(engine, detect_schema(engine))
    engine.dispose()
    assert [str(c) for c in loaded.codes] == sorted(f"{c.system}:{c.code}" for c in codes)
    texts = dict(zip(loaded.codes, loaded.texts, strict=True))
    expected = encoder.encode(list(loaded.texts))
    np.testing.assert_allclose(loaded.matrix, expected, atol=1e-7)
    assert texts[next(c for c in loaded.codes if c.code == "X-1")] == "Local thing"
    e119 = next(c for c in codes if c.code == "E11.9")
    assert (e119.n_events, e119.n_patients) == (2, 1)
    assert skipped.counts == {"malformed code (rows)": 1}


def test_patient_vectors_and_similar(backend_url: str) -> None:
    database_url = write_native(backend_url)
    embed_codes(database_url, encoder=HashEncoder())
    result = patient_vectors(database_url, weighting="idf", as_of="2021-01-01")
    assert result.patient_ids.tolist() == [1, 2, 3, 4]
    assert result.matrix.shape == (4, 16) and result.no_codes.tolist() == [False, False, False, True]
    query, text, neighbours = similar_codes("E11.9", database_url, k=3)
    assert query == "ICD10CM:E11.9" and "diabetes" in text.lower() and len(neighbours) == 3


def test_similar_takes_an_omop_concept_id(omop_url: str) -> None:
    embed_codes(omop_url, encoder=HashEncoder())
    by_code = similar_codes("SNOMED:44054006", omop_url, k=2)
    assert by_code[:2] == ("SNOMED:44054006", "Type 2 diabetes mellitus")
    assert similar_codes("201826", omop_url, k=2) == by_code == similar_codes("omop:201826", omop_url, k=2)
    assert similar_codes("201826", omop_url, k=2, system="OMOP") == by_code
    for unknown in ("123456", "42"):  # no such concept; a concept id is never guessed from a code
        with pytest.raises(InputError, match="E126"):
            similar_codes(unknown, omop_url)


def test_sqlite_postgresql_and_duckdb_give_the_same_vectors(tmp_path: Path, postgresql_url: str) -> None:
    """embed-codes and patient-vectors (every weighting, as-of and aggregation) give the same vectors
    (within 1e-6) on all three backends."""
    urls = [write_native(f"sqlite:///{tmp_path / 'same.db'}"), write_native(postgresql_url)]
    if importlib.util.find_spec("duckdb_engine") is not None:
        urls.append(write_native(f"duckdb:///{tmp_path / 'same.duckdb'}"))
    settings = {f"{w}/{a}": {"weighting": w, "aggregate": a, "half_life": "365d"} for w in ("mean", "count", "idf", "time-decay")
                for a in ("events", "auto")}
    settings["mean/as-of/inclusive"] = {"weighting": "mean", "as_of": "2019-02-01", "as_of_rule": "inclusive"}
    settings["by-system/window"] = {"weighting": "mean", "by_system": True, "window": "400d"}
    out = {}
    for url in urls:
        embed_codes(url, encoder=HashEncoder())
        engine = open_database(url)
        cache = EmbeddingCache(engine).load()
        engine.dispose()
        vectors = {name: patient_vectors(url, as_of="2021-01-01", **kw) if "as_of" not in kw else patient_vectors(url, **kw)
                   for name, kw in settings.items()}
        out[url] = (cache, vectors)
    a_cache, a_vec = out[urls[0]]
    assert len(a_cache.codes) == 7
    for url in urls[1:]:
        b_cache, b_vec = out[url]
        assert a_cache.codes == b_cache.codes and a_cache.texts == b_cache.texts
        np.testing.assert_allclose(a_cache.matrix, b_cache.matrix, atol=1e-6)
        for name in a_vec:
            assert a_vec[name].patient_ids.tolist() == b_vec[name].patient_ids.tolist(), (url, name)
            assert a_vec[name].columns == b_vec[name].columns, (url, name)
            np.testing.assert_allclose(a_vec[name].matrix, b_vec[name].matrix, atol=1e-6, err_msg=f"{url} {name}")
            assert a_vec[name].report.skipped == b_vec[name].report.skipped, (url, name)


@pytest.mark.parametrize("aggregate", ["events", "auto"])
def test_omop_extract_patient_vectors_match_across_backends(
    extract_csv: Path, tmp_path: Path, postgresql_url: str, aggregate: str
) -> None:
    from ehrfeat.store import import_omop

    sqlite_url = f"sqlite:///{tmp_path / 'omop.db'}"
    results = []
    for url in (sqlite_url, postgresql_url):
        import_omop(extract_csv, url)
        embed_codes(url, encoder=HashEncoder())
        results.append(patient_vectors(url, weighting="mean", aggregate=aggregate))
    a, b = results
    assert a.patient_ids.tolist() == b.patient_ids.tolist() and len(a.patient_ids) == 300
    np.testing.assert_allclose(a.matrix, b.matrix, atol=1e-6)
    assert int((~a.no_codes).sum()) > 250
