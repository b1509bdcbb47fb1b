"""File plumbing shared by the readers: clear errors, delimited rows, RRF rows, skip counts.

Every reader opens its files through these helpers so that a missing file, a
missing column or undecodable bytes become a :class:`VocabularyError` naming the
file and the fix, never a raw ``FileNotFoundError`` or ``UnicodeDecodeError``.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Literal

from ehrfeat.codes import (
    HPO,
    ICD9CM,
    ICD9PROC,
    ICD10CM,
    ICD10PCS,
    LOINC,
    MESH,
    OMOP,
    PHECODE,
    RXNORM,
    SNOMED,
    Code,
    canonical_system,
)
from ehrfeat.errors import VocabularyError
from ehrfeat.reasons import ReasonCounter

__all__ = [
    "UMLS",
    "Skips",
    "curie_to_code",
    "open_text",
    "read_delimited",
    "read_rrf",
    "require_file",
]

UMLS = "UMLS"  # UMLS concept unique identifiers (CUIs)

# Systems whose codes are written without their prefix (E11.9, D003920, 0001250);
# codes of any other ontology keep their CURIE prefix ("DOID:8718", "MONDO:0005148").
_BARE_CODE_SYSTEMS = frozenset(
    {HPO, ICD9CM, ICD9PROC, ICD10CM, ICD10PCS, LOINC, MESH, OMOP, PHECODE, RXNORM, SNOMED, UMLS}
)

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # Loinc.csv and MRCONSO have long fields


class Skips(ReasonCounter):
    """Counts of rows a reader could not use, by reason (with examples where the reader gives them)."""


def require_file(path: str | Path, what: str, fix: str | None = None) -> Path:
    """``path`` as a :class:`Path`, or a :class:`VocabularyError` if it is not a readable file."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise VocabularyError(
            f"{what} file not found: {p}",
            fix=fix or f"pass the path of the {what} file (check the folder and the file name's case)",
            code="E111",
        )
    return p


def open_text(path: Path, encoding: str = "utf-8-sig") -> IO[str]:
    """Open a text file (``.gz`` transparently) that raises on undecodable bytes."""
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")  # type: ignore[arg-type]


def decode_error(path: Path, exc: UnicodeDecodeError, encoding: str) -> VocabularyError:
    return VocabularyError(
        f"{path} is not valid {encoding} text ({exc.reason} at byte {exc.start} of a block)",
        fix=f"re-export {path.name} as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
        code="E113",
    )


def _missing_columns(path: Path, header: Sequence[str], required: Sequence[str]) -> VocabularyError:
    missing = [c for c in required if c not in header]
    return VocabularyError(
        f"{path} has no column(s) {', '.join(missing)}; its header is {', '.join(header) or '(empty)'}",
        fix=f"pass the right file, with a header line naming at least: {', '.join(required)}",
        code="E112",
    )


def read_delimited(
    path: Path,
    required: Sequence[str],
    *,
    delimiter: str | None = None,
    comment: str | None = None,
    lowercase_header: bool = False,
    skips: Skips | None = None,
) -> Iterator[dict[str, str]]:
    """Rows of a CSV/TSV file with a header line, as dicts; checks ``required`` columns.

    ``delimiter=None`` detects a tab or a comma from the header line. Tab files are
    read unquoted (Athena, MeSH and SSSOM quote nothing, and names may hold ``"``);
    comma files use standard CSV quoting. Lines starting with ``comment`` before
    the header are skipped (the SSSOM YAML block). A line with more fields than
    the header is counted in ``skips`` (or, without ``skips``, raises); missing
    trailing fields read as empty.
    """
    try:
        with open_text(path) as fh:
            line = fh.readline()
            while comment and line.startswith(comment):
                line = fh.readline()
            if not line.strip():
                raise VocabularyError(
                    f"{path} is empty", fix=f"pass a file with a header line naming {', '.join(required)}", code="E112"
                )
            delim = delimiter or ("\t" if "\t" in line else ",")
            quoting: Literal[0, 3] = csv.QUOTE_NONE if delim == "\t" else csv.QUOTE_MINIMAL
            header = [h.strip() for h in next(csv.reader([line], delimiter=delim, quoting=quoting))]
            if lowercase_header:
                header = [h.lower() for h in header]
            if any(c not in header for c in required):
                raise _missing_columns(path, header, required)
            width = len(header)
            for fields in csv.reader(fh, delimiter=delim, quoting=quoting):
                if not fields:
                    continue
                if len(fields) > width:
                    if skips is None:
                        raise VocabularyError(
                            f"{path} has a line with {len(fields)} fields, its header {width}",
                            fix="repair the line (a stray delimiter?)",
                            code="E112",
                        )
                    skips.add(f"line with more fields than the header of {path.name}")
                    continue
                if len(fields) < width:
                    fields = fields + [""] * (width - len(fields))
                yield dict(zip(header, fields, strict=False))
    except UnicodeDecodeError as exc:
        raise decode_error(path, exc, "UTF-8") from None
    except csv.Error as exc:
        raise VocabularyError(
            f"{path} is not a readable delimited file: {exc}", fix="check the file's format", code="E112"
        ) from None


def read_rrf(path: Path, columns: Sequence[str], skips: Skips) -> Iterator[list[str]]:
    """Fields of a UMLS-style RRF file (``|``-delimited, trailing ``|``, no header, UTF-8).

    The first line must have exactly ``len(columns)`` fields, otherwise the file is
    not the one expected; a later short line is counted in ``skips``.
    """
    width = len(columns)
    try:
        with open_text(path) as fh:
            for lineno, line in enumerate(fh, 1):
                fields = line.rstrip("\r\n").split("|")
                if fields and fields[-1] == "":
                    fields.pop()
                if len(fields) != width:
                    if lineno == 1:
                        raise VocabularyError(
                            f"{path} has {len(fields)} '|'-separated fields per line, expected {width} ({'|'.join(columns)}|)",
                            fix=f"pass the RRF file {path.name} as released (pipe-delimited, no header)",
                            code="E112",
                        )
                    skips.add("malformed line (wrong number of fields)")
                    continue
                yield fields
    except UnicodeDecodeError as exc:
        raise decode_error(path, exc, "UTF-8") from None


def curie_to_code(curie: str) -> Code:
    """``Code`` of a CURIE or OBO PURL: ``ICD10CM:E11.9`` -> ICD10CM E11.9, ``DOID_8718`` -> DOID ``DOID:8718``.

    Raises :class:`~ehrfeat.errors.InputError` for something that is not a CURIE or a malformed code.
    """
    text = curie.strip()
    if "://" in text:  # http://purl.obolibrary.org/obo/DOID_8718, http://www.orpha.net/ORDO/Orphanet_125
        text = text.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        if ":" not in text:
            text = text.replace("_", ":", 1)
    prefix, sep, local = text.partition(":")
    if not sep or not prefix or not local:
        raise VocabularyError(
            f"{curie!r} is not a CURIE", fix="identifiers look like PREFIX:LOCAL (e.g. DOID:8718)", code="E114"
        )
    system = canonical_system(prefix)
    code = local if system in _BARE_CODE_SYSTEMS else f"{prefix}:{local}"
    return Code.parse(system, code)
