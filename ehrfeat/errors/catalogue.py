"""The error catalogue: every code ehrfeat raises, defined once, and the README table made from it.

``python -m ehrfeat.errors.catalogue --write README.md`` rewrites the README's
troubleshooting table; ``--check`` exits 1 when it is out of date.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ehrfeat.errors import (
    ConfigError,
    DatabaseError,
    EhrfeatError,
    InputError,
    ModelError,
    ParityError,
    SchemaError,
    VocabularyError,
)
from ehrfeat.errors.config_codes import CONFIG_CODES
from ehrfeat.errors.database_codes import DATABASE_CODES
from ehrfeat.errors.entry import ErrorCode
from ehrfeat.errors.input_codes import INPUT_CODES
from ehrfeat.errors.install_codes import INSTALL_CODES
from ehrfeat.errors.model_codes import MODEL_CODES
from ehrfeat.errors.spark_codes import SPARK_CODES
from ehrfeat.errors.vocabulary_codes import VOCABULARY_CODES

__all__ = [
    "CLASSES",
    "ENTRIES",
    "README_BEGIN",
    "README_END",
    "catalogue",
    "lookup",
    "main",
    "sync_readme",
    "troubleshooting_table",
]

#: The error classes; each class's default code is catalogued from its docstring.
CLASSES: tuple[type[EhrfeatError], ...] = (
    EhrfeatError, InputError, VocabularyError, DatabaseError, SchemaError, ModelError, ConfigError, ParityError,
)

_DEFAULTS = tuple(
    ErrorCode(cls.code, cls, (cls.__doc__ or cls.__name__).strip().splitlines()[0], "Follow the Fix line of the message.", ("errors",))
    for cls in CLASSES
)

#: Every entry, in the order written (duplicates are a test failure, not silently merged).
ENTRIES: tuple[ErrorCode, ...] = (
    _DEFAULTS + INPUT_CODES + VOCABULARY_CODES + DATABASE_CODES + MODEL_CODES + CONFIG_CODES + INSTALL_CODES + SPARK_CODES
)

README_BEGIN = "<!-- error catalogue: begin (python -m ehrfeat.errors.catalogue --write README.md) -->"
README_END = "<!-- error catalogue: end -->"


def _key(code: str) -> tuple[int, int]:
    """Sort three-digit codes by number and four-digit ones after the 3-digit code of their hundred."""
    digits = code[1:]
    return (int(digits[:3]) if len(digits) == 3 else int(digits[:2]) * 10, int(digits))


def catalogue() -> dict[str, ErrorCode]:
    """The entries by code, sorted by code (the last entry wins where a code repeats)."""
    return {e.code: e for e in sorted(ENTRIES, key=lambda e: _key(e.code))}


def lookup(code: str) -> ErrorCode:
    """The entry of ``code``; ``KeyError`` when it is not catalogued."""
    return catalogue()[code]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def troubleshooting_table() -> str:
    """The README's troubleshooting table (Markdown), one row per code."""
    rows = ["| Code | Error | Meaning | Fix |", "|---|---|---|---|"]
    rows += [
        f"| {e.code} | {e.error.__name__} | {_cell(e.meaning)} | {_cell(e.fix)} |"
        for e in catalogue().values()
        if e.where != ("errors",)
    ]
    return "\n".join(rows)


def sync_readme(text: str) -> str:
    """``text`` (a README) with the table between its catalogue markers replaced by the current one."""
    try:
        head, rest = text.split(README_BEGIN, 1)
        _, tail = rest.split(README_END, 1)
    except ValueError as exc:
        raise ValueError(f"the README has no '{README_BEGIN}' ... '{README_END}' block") from exc
    return f"{head}{README_BEGIN}\n{troubleshooting_table()}\n{README_END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """Rewrite (``--write``) or check (``--check``) the troubleshooting table of a README."""
    parser = argparse.ArgumentParser(prog="python -m ehrfeat.errors.catalogue", description=main.__doc__)
    parser.add_argument("readme", type=Path)
    parser.add_argument("--write", action="store_true", help="rewrite the table in place")
    args = parser.parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    wanted = sync_readme(text)
    if args.write:
        args.readme.write_text(wanted, encoding="utf-8")
        return 0
    if wanted != text:
        sys.stderr.write(f"{args.readme}: the error table is out of date; run with --write\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
