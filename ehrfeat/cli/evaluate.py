"""``ehrfeat evaluate MODEL``: held-out metrics of a model and its base, side by side."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from ehrfeat.cli.errors import reported_errors

__all__ = ["register"]


class BootstrapUnit(StrEnum):
    """What a bootstrap resample draws (ehrfeat.evaluation.bootstrap.BOOTSTRAP_UNITS)."""

    item = "item"
    concept = "concept"


def evaluate_command(
    model: Annotated[str, typer.Argument(help="A checkpoint from `ehrfeat train`, a model folder, or minilm.")],
    base: Annotated[str | None, typer.Option("--base", help="Compare with this model [default: the checkpoint's base].")] = None,
    config: Annotated[str | None, typer.Option("--config", "--recipe", help="Rebuild the held-out set from this recipe/TOML.")] = None,
    linking: Annotated[bool, typer.Option("--linking/--no-linking", help="Also score mention-to-code linking (ICD-10-CM, HPO).")] = True,
    lay: Annotated[bool, typer.Option("--lay/--no-lay", help="Also score lay-mention normalisation (HPO layperson, MeSH entry terms, DO synonyms).")] = True,
    unseen_by: Annotated[str | None, typer.Option("--unseen-by", help="Score only held-out items whose text this recipe/TOML's training never saw.")] = None,
    resamples: Annotated[int, typer.Option("--resamples", min=10, help="Paired bootstrap resamples for the 95% intervals of the deltas.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed (the intervals are reproducible).")] = 0,
    bootstrap_by: Annotated[BootstrapUnit, typer.Option("--bootstrap-by", help="Resample single pairs and queries (item), or held-out concepts with all their items (concept: a pair's anchor, a query's true code).")] = BootstrapUnit.item,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the table in Markdown (for model cards).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
) -> None:
    """Hierarchy AUCs (0v1 ... 2v3, overall and per source), Spearman, synonym, linking and lay-mention accuracy
    on held-out groups, with the 95% paired bootstrap interval of each delta; a row wins when its interval is above 0."""
    from ehrfeat.evaluation import format_report
    from ehrfeat.evaluation.bootstrap import BootstrapSettings
    from ehrfeat.training.compare import evaluate_models

    with reported_errors():
        results = evaluate_models(model, base=base, config=config, linking=linking, lay=lay, bootstrap=BootstrapSettings(resamples, seed, unit=bootstrap_by.value),
                                  unseen_by=unseen_by)
    typer.echo(json.dumps(results, indent=2) if as_json else format_report(results, markdown=markdown))


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_command)
