"""``export_model``: checkpoint or Hugging Face folder -> ONNX variants, each behind a parity gate.

Needs the ``export`` extra (torch, sentence-transformers, optimum-onnx). The
source is first staged as a sentence-transformers folder (Transformer, Pooling,
Normalize) so that optimum exports pooling and L2 normalisation into the graph
(outputs ``sentence_embedding`` and ``token_embeddings``, dynamic batch and
sequence axes). Each variant is built in a scratch folder, encoded by the real
runtime (:class:`OnnxEncoder`) and compared with the torch reference; only
variants that pass are moved into ``OUT_DIR/onnx/`` and listed in the manifest.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ehrfeat.encoders.pooling import ModelSettings, read_model_settings
from ehrfeat.encoders.transformer import looks_like_path
from ehrfeat.errors import ModelError, ParityError
from ehrfeat.export.optimize import OptimizationPreset, get_preset, optimize_onnx
from ehrfeat.extras import missing_extra
from ehrfeat.models.hub import hub_access
from ehrfeat.models.loader import resolve_model
from ehrfeat.onnx.manifest import (
    MANIFEST_NAME,
    OnnxManifest,
    VariantEntry,
    file_sha256,
    has_manifest,
    read_manifest,
    write_manifest,
)
from ehrfeat.onnx.parity import GATES, ParityGate, ParityReport, check_variant, icd10cm_terms
from ehrfeat.onnx.quantize import get_quantization_preset, quantize_onnx
from ehrfeat.paths import check_writable_dir

__all__ = ["ExportConfig", "ExportResult", "export_model"]

logger = logging.getLogger(__name__)

REPORT_NAME = "parity_report.json"


@dataclass(frozen=True)
class ExportConfig:
    """Which variants to build next to the fp32 ``onnx/model.onnx``, and the parity sample."""

    optimize: tuple[str, ...] = ()
    quantize: str | None = None
    fp16: bool = False
    parity_terms: int = 2000
    seed: int = 0
    gates: tuple[tuple[str, ParityGate], ...] = ()  # overrides of GATES, by precision

    def gate(self, precision: str) -> ParityGate:
        return dict(self.gates).get(precision, GATES[precision])


@dataclass(frozen=True)
class ExportResult:
    folder: Path
    manifest: OnnxManifest
    reports: tuple[ParityReport, ...]


def require_export_extras() -> None:
    """A clear error when torch, sentence-transformers or optimum-onnx are missing."""
    missing = [m for m in ("torch", "sentence_transformers", "optimum.onnxruntime") if _find(m) is None]
    if missing:  # one line naming the extra (E1301), as for every missing optional package
        raise missing_extra(", ".join(missing), extra="export", needed_for="ONNX export")


def _find(module: str) -> object:
    try:
        return importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return None


def export_model(model: str | Path | None, out_dir: str | Path, config: ExportConfig | None = None, *, terms: list[str] | None = None) -> ExportResult:
    """Export ``model`` to ``out_dir``; raises :class:`ParityError` naming any variant that failed."""
    config = config or ExportConfig()
    for level in config.optimize:
        get_preset(level)
    if config.quantize:
        get_quantization_preset(config.quantize)
    require_export_extras()
    source = resolve_model(model)
    if isinstance(source, str) and looks_like_path(source):
        raise ModelError(f"model folder {source!r} does not exist", fix="pass a model folder, an ehrfeat checkpoint or a hub id", code="E305")
    if isinstance(source, str):
        hub_access(source)  # a hub id while offline: an answer in seconds, not after a minute of retries
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise ModelError(f"{out} is a file, not a folder", fix="export into an empty or new folder", code="E331")
    check_writable_dir(out, "export folder")  # before minutes of export, not after
    existing = _existing_export(out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".ehrfeat-export-", dir=out))
    try:
        stage = work / "model"
        settings = _stage(source, stage)
        base = _export_base(stage, source, settings)
        if existing is not None and existing.source.get("weights_sha256") != base.source.get("weights_sha256"):
            raise ModelError(f"{out} holds an export of another model", fix="export into an empty folder", code="E331")
        terms = terms if terms is not None else icd10cm_terms(config.parity_terms, config.seed)
        reference = _reference(stage, terms)
        reports: list[ParityReport] = []
        passed: list[VariantEntry] = []
        for entry in _build_variants(stage, base, config, reference, terms, reports):
            passed.append(entry)
        _write_report(out, reports)
        if not any(e.name == "fp32" for e in passed):
            raise ParityError(_failure_text(reports, out), fix="check the source model; nothing was written", code="E502")
        manifest = existing or base
        for entry in passed:
            manifest = manifest.with_variant(entry)
        _install(stage, out, passed, fresh=existing is None)
        write_manifest(out, manifest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    failed = [r for r in reports if not r.passed]
    if failed:
        raise ParityError(
            _failure_text(reports, out),
            fix="try another --optimize level or --quantize preset (int8-u8, int8-keep-ffn1, int8-attention); the variants that passed were written",
            code="E503",
        )
    return ExportResult(folder=out, manifest=manifest, reports=tuple(reports))


def _existing_export(out: Path) -> OnnxManifest | None:
    if has_manifest(out):
        return read_manifest(out)
    if out.is_dir() and any(not p.name.startswith(".") for p in out.iterdir()):
        raise ModelError(f"{out} is not empty and holds no ehrfeat export", fix="export into an empty or new folder", code="E331")
    return None


def _stage(source: str | Path, stage: Path) -> ModelSettings:
    """Save ``source`` as a sentence-transformers folder ending in Pooling + Normalize."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    settings = read_model_settings(Path(source)) if Path(source).is_dir() else ModelSettings()
    try:
        transformer = Transformer(str(source), max_seq_length=settings.max_length)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load {source}: {str(exc).splitlines()[0]}", fix="check the folder holds config.json, tokenizer and weights", code="E306") from exc
    hidden = int(transformer.auto_model.config.hidden_size)
    model = SentenceTransformer(modules=[transformer, Pooling(hidden, pooling_mode=settings.pooling), Normalize()], device="cpu")
    model.save(str(stage))
    # ehrfeat's own settings file: read first by read_model_settings, whatever the ST config format.
    extra = Path(source) / "ehrfeat_manifest.json"
    data = json.loads(extra.read_text(encoding="utf-8")) if extra.is_file() else {}
    data.update(pooling=settings.pooling, max_length=settings.max_length, normalize=True)
    (stage / "ehrfeat_manifest.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return settings


def _export_base(stage: Path, source: str | Path, settings: ModelSettings) -> OnnxManifest:
    from optimum.exporters.onnx import main_export

    main_export(str(stage), stage / "onnx", task="feature-extraction", library_name="sentence_transformers", do_validation=False)
    config = json.loads((stage / "config.json").read_text(encoding="utf-8"))
    weights = stage / "model.safetensors"
    return OnnxManifest(
        source={"model": str(source), "weights_sha256": file_sha256(weights), "model_type": config.get("model_type")},
        pooling=settings.pooling,
        max_length=settings.max_length,
        dim=int(config["hidden_size"]),
        vocab_size=int(config["vocab_size"]),
        tokenizer_sha256=file_sha256(stage / "tokenizer.json"),
    )


def _reference(stage: Path, terms: list[str]) -> np.ndarray:
    from ehrfeat.encoders.transformer import TransformerEncoder

    return TransformerEncoder(stage, device="cpu").encode(terms, batch_size=64)


def _build_variants(
    stage: Path, base: OnnxManifest, config: ExportConfig, reference: np.ndarray, terms: list[str], reports: list[ParityReport]
) -> Iterator[VariantEntry]:
    """Yield the entries of the variants that pass; append every report to ``reports``."""
    onnx_dir = stage / "onnx"

    def gated(
        path: Path, name: str, precision: str, level: str | None = None, quantization: dict[str, Any] | None = None
    ) -> VariantEntry | None:
        entry = VariantEntry(
            name=name, file=f"onnx/{path.name}", sha256=file_sha256(path), precision=precision,
            optimization=level, quantization=quantization,
        )
        report = check_variant(stage, base, entry, reference, terms, config.gate(precision))
        reports.append(report)
        return replace(entry, parity=report.to_dict()) if report.passed else None

    base_entry = gated(onnx_dir / "model.onnx", "fp32", "fp32")
    if base_entry is None:
        return
    yield base_entry
    steps: list[tuple[str, OptimizationPreset]] = [(get_preset(level).name, get_preset(level)) for level in config.optimize]
    if config.fp16:
        steps.append(("fp16", get_preset("O4")))
    for name, preset in steps:
        entry = gated(optimize_onnx(onnx_dir, preset, suffix=name), name, preset.precision, preset.name)
        if entry is not None:
            yield entry
    if config.quantize:
        path, described = quantize_onnx(onnx_dir, get_quantization_preset(config.quantize))
        entry = gated(path, "int8", "int8", None, described)
        if entry is not None:
            yield entry


def _install(stage: Path, out: Path, passed: list[VariantEntry], *, fresh: bool) -> None:
    """Move the staged model files (first export only) and the passing ONNX files into ``out``."""
    if fresh:
        for item in stage.iterdir():
            if item.name not in ("onnx", MANIFEST_NAME):
                os.replace(item, out / item.name)
    (out / "onnx").mkdir(exist_ok=True)
    for entry in passed:
        os.replace(stage / entry.file, out / entry.file)


def _write_report(out: Path, reports: list[ParityReport]) -> None:
    (out / REPORT_NAME).write_text(json.dumps([r.to_dict() for r in reports], indent=2) + "\n", encoding="utf-8")


def _failure_text(reports: list[ParityReport], out: Path) -> str:
    lines = [r.summary() for r in reports if not r.passed]
    return "parity gate failed: " + " | ".join(lines) + f" (full report: {out / REPORT_NAME})"
