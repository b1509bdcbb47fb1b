"""The ``ehrfeat`` command line: each command lives in its own module of this package.

A command module exposes ``register(app)``, which adds a ~15-line typer wrapper
over a plain library function. Heavy imports stay inside the command bodies, so
``ehrfeat --help`` is instant and never imports torch.
"""

from __future__ import annotations

import importlib
import logging

import typer

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

app = typer.Typer(
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
