"""The inputs of the bad-input corpus: small, real files a user could hand ehrfeat, and a snapshot of them.

Every builder takes the case's folder and returns nothing; files land at fixed names the
case arguments refer to (``{tmp}/p.db``, ``{tmp}/csv``, ``{tmp}/user`` ...). :func:`snapshot`
records every file's bytes (SQLite files: every table's rows instead, so a run that adds a
table of its own is told apart from one that changed a user's table).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

from tests.helpers import make_native_db, snapshot

__all__ = ["EVENTS", "VOCAB", "Setup", "snapshot", "world"]

Setup = Callable[[Path], None]

EVENTS = [
    (1, "2020-01-01", "ICD10CM", "E11.9", None), (1, "2020-02-01", "ICD10CM", "I10", None),
    (2, "2020-01-05", "ICD10CM", "E11.9", None), (2, "2020-03-01", "ICD10CM", "J45.909", None),
    (3, "2020-01-07", "ICD10CM", "I50.9", None), (3, "2021-01-07", "ICD10CM", "N18.3", None),
]
VOCAB = [("ICD10CM", "E11.9", "Type 2 diabetes mellitus without complications"), ("ICD10CM", "I10", "Essential hypertension")]

CONCEPT = (
    "concept_id\tconcept_name\tdomain_id\tvocabulary_id\tconcept_class_id\tstandard_concept\tconcept_code\t"
    "valid_start_date\tvalid_end_date\tinvalid_reason\n"
    "201826\tType 2 diabetes mellitus\tCondition\tSNOMED\tClinical Finding\tS\t44054006\t19700101\t20991231\t\n"
    "320128\tEssential hypertension\tCondition\tSNOMED\tClinical Finding\tS\t59621000\t19700101\t20991231\t\n"
)
PERSON = "person_id,gender_concept_id,year_of_birth,race_concept_id,ethnicity_concept_id\n1,8507,1960,0,0\n2,8532,1970,0,0\n"
CONDITIONS = (
    "condition_occurrence_id,person_id,condition_concept_id,condition_start_date,condition_type_concept_id,condition_source_value\n"
    "1,1,201826,2020-01-01,32020,E11.9\n2,2,320128,2020-02-01,32020,I10\n"
)


def native(tmp: Path) -> None:
    make_native_db(tmp / "p.db", EVENTS, VOCAB)


def with_notes(texts: list[str | bytes]) -> Setup:
    def build(tmp: Path) -> None:
        native(tmp)
        con = sqlite3.connect(tmp / "p.db")
        con.execute("CREATE TABLE notes (note_id INTEGER PRIMARY KEY, patient_id INTEGER, time TEXT, text TEXT)")
        for i, text in enumerate(texts, 1):
            value = f"CAST(X'{text.hex()}' AS TEXT)" if isinstance(text, bytes) else "?"
            con.execute(f"INSERT INTO notes VALUES ({i}, 1, '2020-01-01', {value})", () if isinstance(text, bytes) else (text,))
        con.commit()
        con.close()
    return build


def sql(*statements: str, base: Setup = native) -> Setup:
    def build(tmp: Path) -> None:
        base(tmp)
        con = sqlite3.connect(tmp / "p.db")
        for statement in statements:
            con.execute(statement)
        con.commit()
        con.close()
    return build


def copy(source: Path, name: str, base: Setup | None = None) -> Setup:
    def build(tmp: Path) -> None:
        if base is not None:
            base(tmp)
        target = tmp / name
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    return build


def files(contents: dict[str, str | bytes], base: Setup | None = None) -> Setup:
    def build(tmp: Path) -> None:
        if base is not None:
            base(tmp)
        for name, content in contents.items():
            path = tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return build


def omop_csv(extra: dict[str, str | bytes] | None = None, *, drop: tuple[str, ...] = ()) -> Setup:
    base = {"csv/CONCEPT.csv": CONCEPT, "csv/PERSON.csv": PERSON, "csv/CONDITION_OCCURRENCE.csv": CONDITIONS}
    return files({k: v for k, v in {**base, **(extra or {})}.items() if k.rsplit("/", 1)[-1] not in drop})


def user_folder(tmp: Path) -> None:
    (tmp / "user").mkdir()
    (tmp / "user" / "thesis.docx").write_text("years of work")
    (tmp / "user" / "sub").mkdir()
    (tmp / "user" / "sub" / "data.csv").write_text("a,b\n1,2\n")


def read_only_folder(tmp: Path) -> None:
    (tmp / "ro").mkdir()
    (tmp / "ro").chmod(0o555)


def both(*setups: Setup) -> Setup:
    def build(tmp: Path) -> None:
        for setup in setups:
            setup(tmp)
    return build


def world() -> dict[str, Setup]:
    """Named building blocks, for cases that only need one."""
    return {"native": native, "user": user_folder, "ro": read_only_folder}


