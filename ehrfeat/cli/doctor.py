"""``ehrfeat doctor``: versions, providers, CPU flags, the variant that loads, a 2-second benchmark."""

from __future__ import annotations

import json

import typer

from ehrfeat.cli.errors import reported_errors

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor(
        model: str | None = typer.Option(None, "--model", help="Model folder to check (default: the bundled encoder)."),
        device: str | None = typer.Option(None, "--device", help="auto, cpu, cuda or tensorrt."),
        seconds: float = typer.Option(2.0, "--seconds", help="Length of the micro-benchmark."),
    ) -> None:
        """Print what this machine runs and how fast, as JSON."""
        with reported_errors():
            from ehrfeat.models.doctor import diagnose

            typer.echo(json.dumps(diagnose(model, device=device, seconds=seconds), indent=2))
