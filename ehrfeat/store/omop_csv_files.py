"""The OMOP CSV files of a folder or a .zip, and their rows: what :func:`ehrfeat.store.import_omop` reads.

* File names are matched case-insensitively (``CONCEPT.csv`` -> table ``concept``);
  ``__MACOSX/`` entries and dot files are ignored; files whose name is not a
  valid table name are left out, with the reason.
* Comma- or tab-separated is detected from the header line. Tab-separated
  files (OMOP Athena vocabularies) are read without quote processing, as
  Athena writes them. Bytes that are not UTF-8 are decoded as U+FFFD.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ehrfeat.errors import InputError
from ehrfeat.store.database import validate_identifier

__all__ = ["CsvMember", "csv_members", "csv_rows"]

_SUFFIXES = (".csv", ".tsv")


@dataclass(frozen=True)
class CsvMember:
    """One CSV file of the source: its name there, the table it loads, and how to open its bytes (again)."""

    name: str
    table: str
    open: Callable[[], IO[bytes]]


def csv_members(source: Path) -> tuple[list[CsvMember], dict[str, str]]:
    """The OMOP CSV files of folder or .zip ``source``, and the files left out with why."""
    if not source.exists():
        raise InputError(f"{source} does not exist", fix="give a folder of OMOP CSV files or a .zip of them", code="E106")
    found: list[tuple[str, Callable[[], IO[bytes]]]] = []
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file():
                found.append((path.relative_to(source).as_posix(), functools.partial(_open_file, path)))
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
        found = [(n, functools.partial(_open_zip_member, source, n)) for n in sorted(names)]
    else:
        raise InputError(f"{source} is neither a folder nor a .zip file", fix="give a folder of OMOP CSV files or a .zip of them",
                         code="E106")
    members: list[CsvMember] = []
    skipped: dict[str, str] = {}
    for name, opener in found:
        parts = name.split("/")
        if "__MACOSX" in parts or any(p.startswith(".") for p in parts) or not name.lower().endswith(_SUFFIXES):
            continue
        table = parts[-1].rsplit(".", 1)[0].lower()
        try:
            validate_identifier(table)
        except InputError:
            skipped[name] = "file name is not a valid table name"
            continue
        if any(m.table == table for m in members):
            raise InputError(f"{source} holds two files for table {table!r} ({name} and another)",
                             fix="keep one file per OMOP table", code="E106")
        members.append(CsvMember(name, table, opener))
    if not members:
        raise InputError(f"{source} holds no .csv or .tsv files", fix="give a folder of OMOP CSV files or a .zip of them",
                         code="E106")
    return members, skipped


def _open_file(path: Path) -> IO[bytes]:
    return path.open("rb")


def _open_zip_member(source: Path, name: str) -> IO[bytes]:
    zf = zipfile.ZipFile(source)
    raw = zf.open(name)
    close = raw.close

    def close_both() -> None:
        close()
        zf.close()

    raw.close = close_both  # type: ignore[method-assign]
    return raw


def csv_rows(raw: IO[bytes], name: str) -> tuple[list[str], Iterator[list[str]], Callable[[], int]]:
    """The header and rows of CSV or TSV file ``name`` (bytes not UTF-8 decoded as U+FFFD), and the current line number."""
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
    header_line = text.readline()
    tab = header_line.count("\t") > header_line.count(",")
    reader = csv.reader(itertools.chain([header_line], text), delimiter="\t" if tab else ",",
                        quoting=csv.QUOTE_NONE if tab else csv.QUOTE_MINIMAL)
    header = next(reader, None)
    if not header:
        raise InputError(f"{name} is empty (no header line)", fix="remove the file or export it with its header", code="E107")
    return header, reader, lambda: reader.line_num
