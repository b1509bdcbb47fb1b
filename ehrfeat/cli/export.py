"""``ehrfeat export MODEL OUT_DIR``: ONNX variants of a model, each behind a parity gate."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ehrfeat.cli.errors import reported_errors

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export(
        model: Annotated[str, typer.Argument(help="Model folder, ehrfeat checkpoint, hub id or 'minilm'.")],
        out_dir: Annotated[Path, typer.Argument(help="Folder to write (sentence-transformers layout, ONNX files in onnx/).")],
        optimize: Annotated[
            list[str] | None, typer.Option("--optimize", help="Also write a fused variant: O1, O2, O3 or O4 (fp16). Repeatable.")
        ] = None,
        quantize: str | None = typer.Option(None, "--quantize", help="Also write an int8 variant: int8, or a preset that keeps more in fp32 or uses uint8 weights (int8-u8, int8-keep-ffn1, int8-attention)."),
        fp16: bool = typer.Option(False, "--fp16", help="Also write an fp16 variant (for GPUs)."),
        parity_terms: int = typer.Option(2000, "--parity-terms", help="ICD-10-CM descriptions in the parity check."),
    ) -> None:
        """Export MODEL to ONNX and check every variant against torch; failing variants are not written."""
        with reported_errors():
            from ehrfeat.export.exporter import ExportConfig, export_model

            config = ExportConfig(optimize=tuple(optimize or ()), quantize=quantize, fp16=fp16, parity_terms=parity_terms)
            result = export_model(model, out_dir, config)
            for report in result.reports:
                typer.echo(report.summary())
            typer.echo(f"wrote {len(result.manifest.variants)} variant(s) to {result.folder}")


def main() -> None:
    """``python -m ehrfeat.cli.export MODEL OUT_DIR ...``: this command alone (used by the model cache)."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    register(app)

    @app.callback()
    def _root() -> None:  # keeps `export` a named sub-command, as in `ehrfeat export`
        pass

    app()


if __name__ == "__main__":
    main()
