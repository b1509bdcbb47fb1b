"""Errors raised by ehrfeat.

Every error carries a stable code (``E1xx`` input, ``E2xx`` database, ``E3xx``
model, ``E4xx`` configuration, ``E5xx`` export/parity) and, where one exists, a
fix the user can apply. Each class also subclasses the closest builtin so that
callers catching ``ValueError`` or ``FileNotFoundError`` keep working.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DatabaseError",
    "EhrfeatError",
    "InputError",
    "ModelError",
    "ParityError",
    "SchemaError",
    "VocabularyError",
]


class EhrfeatError(Exception):
    """Base class of every error ehrfeat raises on purpose."""

    code: str = "E000"

    def __init__(self, message: str, *, fix: str | None = None, code: str | None = None) -> None:
        self.message = message
        self.fix = fix
        if code is not None:
            self.code = code
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"[{self.code}] {self.message}"
        if self.fix:
            text += f"\n  Fix: {self.fix}"
        return text


class InputError(EhrfeatError, ValueError):
    """Malformed user input: a code, a file, a command-line value."""

    code = "E100"


class VocabularyError(EhrfeatError, ValueError):
    """A vocabulary or hierarchy file that cannot be read as its format says."""

    code = "E110"


class DatabaseError(EhrfeatError, RuntimeError):
    """A database that cannot be opened, read or written."""

    code = "E200"


class SchemaError(EhrfeatError, ValueError):
    """A database whose tables match no schema ehrfeat supports."""

    code = "E210"


class ModelError(EhrfeatError, RuntimeError):
    """A model folder or id that cannot be loaded."""

    code = "E300"


class ConfigError(EhrfeatError, ValueError):
    """A configuration file or option that is invalid."""

    code = "E400"


class ParityError(EhrfeatError, RuntimeError):
    """An exported model variant that does not match its reference."""

    code = "E500"
