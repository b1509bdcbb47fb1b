"""Turn ehrfeat errors into a clear message and a non-zero exit status."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer

from ehrfeat.errors import EhrfeatError

__all__ = ["reported_errors"]


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Print an :class:`EhrfeatError` as ``error: ...`` on stderr and exit with status 2."""
    try:
        yield
    except EhrfeatError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
