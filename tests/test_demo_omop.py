"""An extract without vocabularies, on SQLite and PostgreSQL: every code it carries gets a vector."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from ehrfeat.embed import embed_codes
from ehrfeat.store import EventReadReport, detect_schema, iter_events, open_database
from ehrfeat.store.schema import OMOP_DOMAIN_TABLES
from tests.omop_data import HashEncoder


def _share(bucket: dict, kinds: tuple[str, ...], of: str = "values") -> float:
    hit = sum(bucket[k][of] for k in kinds)
    total = sum(bucket[k][of] for k in ("concept", "source_code", "source_text", "unresolved"))
    return hit / total


def test_coverage_of_an_extract_without_vocabularies(extract_url: str, encoder: HashEncoder) -> None:
    report = embed_codes(extract_url, encoder=encoder)
    cov = report.coverage
    assert cov is not None
    got = ("concept", "source_code", "source_text")
    condition = cov["tables"]["condition"]
    assert _share(condition, got) >= 0.95  # distinct condition values with a vector
    assert _share(cov["total"], got) >= 0.90  # distinct values of all clinical tables
    assert condition["source_code"]["systems"].keys() >= {"ICD10CM", "ICD9CM"}
    assert cov["tables"]["procedure"]["source_code"]["systems"].keys() >= {"ICD10PCS", "ICD9Proc"}
    assert condition["source_text"]["values"] > 0 and cov["tables"]["drug"]["source_text"]["values"] > 0
    assert condition["concept"]["values"] == 1  # Type 2 diabetes, the one condition concept CONCEPT has
    reasons = condition["unresolved"]["reasons"]
    assert any(r.startswith("ambiguous") and "E8889" in b["examples"] for r, b in reasons.items())
    # the report accounts for every row of every clinical table
    engine = open_database(extract_url)
    with engine.connect() as conn:
        for domain, table in OMOP_DOMAIN_TABLES.items():
            n = conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar()
            bucket = cov["tables"][domain]
            assert bucket["rows"] == n == sum(bucket[k]["rows"] for k in ("concept", *got[1:], "unresolved")), domain
    # every event that got a code is keyed by a code that has a vector, one key per row
    read = EventReadReport()
    events = list(iter_events(engine, detect_schema(engine), report=read))
    engine.dispose()
    assert read.rows_read == cov["total"]["rows"]
    assert read.rows_yielded == sum(cov["total"][k]["rows"] for k in got)
    assert read.unmapped_concept == cov["total"]["unresolved"]["rows"]
    systems = {s for chunk in events for s in chunk.system}
    assert {"ICD10CM", "ICD9CM", "ICD10PCS", "ICD9Proc", "SOURCE_TEXT", "SNOMED", "Visit"} <= systems


def test_report_file_and_summary_lines(extract_csv: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ehrfeat.store import import_omop

    db = tmp_path / "x.db"
    import_omop(extract_csv, db)
    monkeypatch.setattr("ehrfeat.models.loader.load_encoder", lambda model=None: HashEncoder())
    out = tmp_path / "coverage.json"
    result = CliRunner().invoke(app, ["embed-codes", str(db), "--no-progress", "--report", str(out)])
    assert result.exit_code == 0, result.output
    assert "coverage (distinct values / rows):" in result.output
    assert "condition unresolved: ambiguous" in result.output
    data = json.loads(out.read_text())
    assert data["coverage"]["tables"]["condition"]["source_code"]["values"] > 0
    assert data["embedded_now"] > 0 and data["fingerprint"] == "hash-16"


def test_source_system_override_on_the_command_line(extract_csv: Path, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ehrfeat.store import import_omop

    db = tmp_path / "x.db"
    import_omop(extract_csv, db)
    monkeypatch.setattr("ehrfeat.models.loader.load_encoder", lambda model=None: HashEncoder())
    out = tmp_path / "coverage.json"
    result = CliRunner().invoke(app, ["embed-codes", str(db), "--no-progress", "--report", str(out),
                                      "--source-system", "condition=ICD9CM,ICD10CM"])
    assert result.exit_code == 0, result.output
    reasons = json.loads(out.read_text())["coverage"]["tables"]["condition"]["unresolved"].get("reasons", {})
    assert not any(r.startswith("ambiguous") for r in reasons)
    bad = CliRunner().invoke(app, ["embed-codes", str(db), "--no-progress", "--source-system", "condition=ICD11"])
    assert bad.exit_code == 2 and "E1403" in bad.output and "ICD11" in bad.output


def test_a_second_run_after_loading_vocabularies_keys_each_event_once(extract_url: str, encoder: HashEncoder) -> None:
    first = embed_codes(extract_url, encoder=encoder)
    engine = open_database(extract_url)
    with engine.begin() as conn:  # the user loads the vocabularies: CONCEPT now knows the condition concepts
        conn.execute(sa.text("INSERT INTO concept (concept_id, concept_name, domain_id, vocabulary_id, concept_code) "
                             "VALUES (320128, 'Essential hypertension', 'Condition', 'SNOMED', '59621000'), "
                             "(4329847, 'Myocardial infarction', 'Condition', 'SNOMED', '22298006')"))
        n_known = conn.execute(sa.text("SELECT COUNT(*) FROM condition_occurrence "
                                       "WHERE condition_concept_id IN (320128, 4329847)")).scalar()
    second = embed_codes(extract_url, encoder=encoder)
    assert second.coverage is not None and first.coverage is not None
    cond1, cond2 = first.coverage["tables"]["condition"], second.coverage["tables"]["condition"]
    assert cond2["concept"]["rows"] == cond1["concept"]["rows"] + n_known > n_known > 0
    assert cond2["rows"] == cond1["rows"]  # the same rows, each counted once
    assert second.embedded_now == 2 and second.already_cached > 0  # only the two new concept codes
    read = EventReadReport()
    keys = [(d, s, c) for ch in iter_events(engine, detect_schema(engine), report=read)
            for d, s, c in zip(ch.domain, ch.system, ch.code, strict=True)]
    engine.dispose()
    assert read.rows_read == read.rows_yielded + read.rows_skipped  # one key or a reason per row, never two
    snomed = sum(1 for d, s, c in keys if d == "condition" and (s, c) in {("SNOMED", "59621000"), ("SNOMED", "22298006")})
    assert snomed == n_known


def test_patient_vectors_take_the_same_source_systems(extract_url: str, encoder: HashEncoder) -> None:
    from ehrfeat.patients import patient_vectors

    chosen = ("condition=ICD9CM,ICD10CM",)
    embed_codes(extract_url, encoder=encoder, source_systems=chosen)
    default = patient_vectors(extract_url, aggregate="events")
    fixed = patient_vectors(extract_url, aggregate="events", source_systems=chosen)
    # the ambiguous values (E8889, V222) now have a key that was embedded: their events count
    assert int(fixed.n_events.sum()) > int(default.n_events.sum())
