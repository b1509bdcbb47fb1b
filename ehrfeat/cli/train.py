"""``ehrfeat train CONFIG``: train a term encoder from a recipe name or a TOML file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ehrfeat.cli.errors import reported_errors

__all__ = ["register"]


def train_command(
    config: Annotated[str, typer.Argument(help="A recipe (smoke, hiprbert-mini) or a TOML config file.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Checkpoint folder [default: runs/<name>].")] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", min=0, help="Cap the steps (overrides the config).")] = None,
    no_eval: Annotated[bool, typer.Option("--no-eval", help="Skip the held-out evaluation at the end.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Train (or resume) a HiPrBERT term encoder; prints base and trained held-out metrics."""
    from ehrfeat.evaluation import format_report
    from ehrfeat.training.config import load_config, with_max_steps
    from ehrfeat.training.loop import train

    with reported_errors():
        cfg = with_max_steps(load_config(config), max_steps)
        out = train(cfg, output or Path("runs") / cfg.name, evaluate=not no_eval, progress=not quiet)
    typer.echo(f"checkpoint: {out}")
    evaluation = json.loads((out / "ehrfeat_manifest.json").read_text()).get("evaluation")
    if evaluation:
        typer.echo(format_report(evaluation))


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
