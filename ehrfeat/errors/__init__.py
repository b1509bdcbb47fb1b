"""Errors raised by ehrfeat.

Every error carries a stable code (``E1xx`` input, ``E2xx`` database, ``E3xx``
model, ``E4xx`` configuration, ``E5xx`` export/parity; four-digit ``E<issue><nn>``
codes such as ``E1401`` for codes added by issue number) and, where one exists, a
fix the user can apply. Each class also subclasses the closest builtin so that
callers catching ``ValueError`` or ``FileNotFoundError`` keep working.

Every code is defined once, with its meaning and fix, in the catalogue
(:mod:`ehrfeat.errors.catalogue`); the README's troubleshooting table is made from it.

How to add a code:

1. Pick an unused code: ``E`` plus three digits in the range of the error class, or
   four digits whose first two are your issue number (issue 14: ``E1401``, ``E1402``, ...).
2. Raise it where it happens, with a message that names the input and a specific fix:
   ``raise InputError(f"{path} ...", fix="...", code="E1401")``.
3. Register it in the codes module of its class (``input_codes``, ``vocabulary_codes``,
   ``database_codes`` for DatabaseError and SchemaError, ``model_codes`` for ModelError
   and ParityError, ``config_codes``): ``ErrorCode("E1401", InputError, meaning, fix,
   ("package.module",))``, the last item naming each module (without ``ehrfeat.``) that raises it.
4. Regenerate the README table: ``python -m ehrfeat.errors.catalogue --write README.md``.

``tests/errors/test_catalogue.py`` fails on a code raised but not catalogued, a
catalogued code never raised, a code defined twice, a code raised with another
class or from a module its entry does not name (one code, one meaning), and a
README table out of date.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DatabaseError",
    "EhrfeatError",
    "InputError",
    "MissingExtraError",
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


class MissingExtraError(EhrfeatError, ImportError):
    """An optional package is not installed: a one-line message naming the extra that installs it."""

    code = "E1301"

    def __init__(self, message: str, *, module: str, extra: str | None, code: str | None = None) -> None:
        self.module = module
        self.extra = extra
        EhrfeatError.__init__(self, message, code=code)
        ImportError.__init__(self, str(self), name=module)

    def __str__(self) -> str:  # one line: the fix (pip install "ehrfeat[extra]") is part of the message
        return f"[{self.code}] {self.message}"
