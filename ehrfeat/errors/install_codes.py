"""Codes of :class:`~ehrfeat.errors.MissingExtraError`: a package the command needs is not installed (issue 13)."""

from __future__ import annotations

from ehrfeat.errors import MissingExtraError
from ehrfeat.errors.entry import ErrorCode

__all__ = ["INSTALL_CODES"]

_M = MissingExtraError

INSTALL_CODES: tuple[ErrorCode, ...] = (
    ErrorCode("E1301", _M, "An optional package is not installed (the message names it and the extra that installs it).",
              'Run the pip install "ehrfeat[EXTRA]" the message gives (ehrfeat-gpu[EXTRA] for the GPU build).', ("errors", "extras")),
    ErrorCode("E1302", _M, "A package every ehrfeat install depends on is missing: a broken install.",
              "pip install --force-reinstall ehrfeat (or ehrfeat-gpu).", ("extras",)),
)
