"""One entry of the error catalogue: a code, the class that raises it, its meaning and fix."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ehrfeat.errors import EhrfeatError

__all__ = ["CODE_PATTERN", "ErrorCode"]

#: ``E`` and three digits (``E204``), or four whose first two are an issue number (``E1401``).
CODE_PATTERN = re.compile(r"E\d{3,4}")


@dataclass(frozen=True)
class ErrorCode:
    """An error code defined once: what it means, how to fix it, and which modules raise it.

    ``where`` names the modules (without the ``ehrfeat.`` prefix) that raise the code;
    a module not named there may not raise it, so one code keeps one meaning.
    """

    code: str
    error: type[EhrfeatError]
    meaning: str
    fix: str
    where: tuple[str, ...]

    def __post_init__(self) -> None:
        if not CODE_PATTERN.fullmatch(self.code):
            raise ValueError(f"error code {self.code!r} is not E plus three or four digits")
        if not self.meaning or not self.fix:
            raise ValueError(f"error code {self.code} needs a meaning and a fix")
