"""Small builders shared by tests: native-schema databases written with plain sqlite3."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = ["make_native_db"]

Event = tuple[int, str | None, str, str, float | None]


def make_native_db(
    path: Path,
    events: Iterable[Event],
    vocabulary: Sequence[tuple[str, str, str]] = (),
) -> Path:
    """A native-schema SQLite database: ``events`` rows are (patient_id, time, system, code, value)."""
    events = list(events)
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE patients (patient_id INTEGER PRIMARY KEY, birth_date TEXT, sex TEXT);
        CREATE TABLE events (patient_id INTEGER, time TEXT, code_system TEXT, code TEXT, value REAL);
        CREATE TABLE vocabulary (code_system TEXT, code TEXT, description TEXT);
        """
    )
    con.executemany("INSERT INTO patients VALUES (?, NULL, NULL)", [(p,) for p in sorted({e[0] for e in events})])
    con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", events)
    con.executemany("INSERT INTO vocabulary VALUES (?, ?, ?)", vocabulary)
    con.commit()
    con.close()
    return path
