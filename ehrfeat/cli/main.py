"""The ``ehrfeat`` command line: each command lives in its own module of this package.

A command module exposes ``register(app)``, which adds a ~15-line typer wrapper
over a plain library function. Heavy imports stay inside the command bodies, so
``ehrfeat --help`` is instant and never imports torch.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import typer

from ehrfeat.extras import missing_module_error

__all__ = ["app", "main"]

COMMAND_MODULES = (
    "ehrfeat.cli.embed_codes",
    "ehrfeat.cli.similar",
    "ehrfeat.cli.import_omop",
    "ehrfeat.cli.patient_vectors",
    "ehrfeat.cli.cluster",
    "ehrfeat.cli.export",
    "ehrfeat.cli.doctor",
    "ehrfeat.cli.build_index",
    "ehrfeat.cli.link_notes",
    "ehrfeat.cli.train",
    "ehrfeat.cli.evaluate",
)



class _App(typer.Typer):
    """The typer app, plus: a missing optional package is one line naming its extra and exit status 2."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ImportError as exc:
            error = missing_module_error(exc, command=_command_name(sys.argv[1:]))
            if error is None:
                raise
            typer.echo(f"error: {error}", err=True)
            sys.exit(2)


def _command_name(argv: list[str]) -> str | None:
    """The subcommand in ``argv`` (the first word that is not an option), for the error message."""
    return next((a for a in argv if not a.startswith("-")), None)


app = _App(
    name="ehrfeat",
    help="Semantic embeddings of EHR codes and note mentions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details.")) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    app()
