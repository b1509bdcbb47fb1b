"""Turn ehrfeat errors, and missing optional packages, into a one-line message and exit status 2."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click
import typer

from ehrfeat.errors import EhrfeatError
from ehrfeat.extras import missing_module_error

__all__ = ["reported_errors"]


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Print an :class:`EhrfeatError` as ``error: ...`` on stderr and exit with status 2.

    A :class:`ModuleNotFoundError` for an optional package becomes the one-line
    :class:`~ehrfeat.extras.MissingExtraError` naming the extra to install.
    """
    try:
        yield
    except EhrfeatError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    except ImportError as exc:
        context = click.get_current_context(silent=True)
        error = missing_module_error(exc, command=context.info_name if context else None)
        if error is None:
            raise
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from exc
