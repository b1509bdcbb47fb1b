"""The CPU variants of an fp16-only export, derived once into the user cache.

A model shipped inside the package is one fp16 ONNX file: half the size of fp32,
and what a GPU runs. The CPU runs fp16 slowly, so the first CPU load derives,
without torch, an fp32 graph (:mod:`ehrfeat.onnx.upcast`) and an int8 one made
from it (:mod:`ehrfeat.onnx.quantize`), each behind the export's parity gates:
fp32 against the shipped fp16 graph (the fp16 gate, since that is the
reference's precision), int8 against the derived fp32 (the int8 gate). int8 tries
the presets of ``int8_ladder()`` (``INT8_LADDER``, with uint8 weights second on
AVX2), most quantised first, and keeps the first that passes; when none does, a
warning says so and the CPU runs the derived fp32. The folder is built in a
scratch folder and renamed into place, so concurrent first uses race safely.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import replace
from pathlib import Path

from ehrfeat.errors import ModelError
from ehrfeat.onnx.cache import build_in_cache
from ehrfeat.onnx.manifest import (
    MANIFEST_NAME,
    OnnxManifest,
    VariantEntry,
    file_sha256,
    has_manifest,
    read_manifest,
    write_manifest,
)
from ehrfeat.onnx.parity import GATES, ParityReport, check_variant, encode_variant, icd10cm_terms
from ehrfeat.onnx.quantize import get_quantization_preset, int8_ladder, quantize_onnx
from ehrfeat.onnx.upcast import upcast_fp16_model
from ehrfeat.paths import cache_dir

__all__ = ["DERIVED_LAYOUT", "derive_cpu_variants", "derived_folder", "needs_cpu_variants"]

logger = logging.getLogger(__name__)

DERIVED_LAYOUT = "derived1"
PARITY_TERMS = 1000


def needs_cpu_variants(manifest: OnnxManifest) -> bool:
    """True when the export lists no variant the CPU runs well (fp32 or int8)."""
    return not any(v.precision in ("fp32", "int8") for v in manifest.variants)


def _fp16(manifest: OnnxManifest, folder: Path) -> VariantEntry:
    entry = next((v for v in manifest.variants if v.precision == "fp16"), None)
    if entry is None:
        raise ModelError(f"{folder} has no fp16 variant to derive CPU variants from", fix="export it with `ehrfeat export --fp16`", code="E337")
    return entry


def derived_folder(folder: str | Path, *, quantize: tuple[str, ...] | None = None) -> Path:
    """The cache folder holding ``folder``'s fp16 variant plus derived fp32 and int8; built on first use.

    ``quantize``: the int8 presets to try, in order (default: this CPU's ``int8_ladder()``;
    the ladder is part of the folder's name).
    """
    folder = Path(folder)
    ladder = int8_ladder() if quantize is None else quantize
    manifest = read_manifest(folder)
    fp16 = _fp16(manifest, folder)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(str(manifest.source.get("model", "model"))).name) or "model"
    # The max length is part of the name: a shipped manifest that raises it (25 -> 64) must not reuse a folder derived before.
    target = cache_dir() / "onnx" / f"{name}-{fp16.sha256[:16]}-L{manifest.max_length}-{'-'.join(ladder) or 'fp32'}-{DERIVED_LAYOUT}"
    if not has_manifest(target):
        logger.warning("deriving the CPU variants of %s once (seconds; cached for later loads): %s", folder, target)
    return build_in_cache(target, lambda out: derive_cpu_variants(folder, out, quantize=ladder), prefix=".deriving-")


def derive_cpu_variants(
    folder: Path, out: Path, *, quantize: tuple[str, ...] | None = None, terms: list[str] | None = None
) -> tuple[ParityReport, ...]:
    """Write ``out``: ``folder``'s files, its fp16 graph, and the fp32/int8 graphs that pass their gates."""
    quantize = int8_ladder() if quantize is None else quantize
    manifest = read_manifest(folder)
    fp16 = _fp16(manifest, folder)
    (out / "onnx").mkdir(parents=True, exist_ok=True)
    for item in folder.iterdir():
        if item.is_file() and item.name != MANIFEST_NAME:
            shutil.copy2(item, out / item.name)
    shutil.copy2(folder / fp16.file, out / fp16.file)
    source = {**manifest.source, "derived_from": {"folder": str(folder), "variant": fp16.name, "sha256": fp16.sha256}}
    base = replace(manifest, source=source, variants=(fp16,))
    write_manifest(out, base)
    terms = terms if terms is not None else icd10cm_terms(PARITY_TERMS)
    reference = encode_variant(out, fp16.name, terms)
    upcast_fp16_model(out / fp16.file, out / "onnx" / "model.onnx")
    fp32 = VariantEntry(name="fp32", file="onnx/model.onnx", sha256=file_sha256(out / "onnx" / "model.onnx"), precision="fp32")
    reports = [check_variant(out, base, fp32, reference, terms, GATES["fp16"])]
    if not reports[0].passed:
        raise ModelError(f"the fp32 graph derived from {folder / fp16.file} fails parity: {reports[0].summary()}",
                         fix="pass --variant fp16 to run the shipped graph as it is, and report this", code="E338")
    listed = [fp16, replace(fp32, parity=reports[0].to_dict())]
    if quantize:
        fp32_reference = encode_variant(out, "fp32", terms, manifest=replace(base, variants=tuple(listed)))
    for preset_name in quantize:
        path, described = quantize_onnx(out / "onnx", get_quantization_preset(preset_name), source="model.onnx")
        int8 = VariantEntry(name="int8", file=f"onnx/{path.name}", sha256=file_sha256(path), precision="int8", quantization=described)
        reports.append(check_variant(out, base, int8, fp32_reference, terms, GATES["int8"]))
        if reports[-1].passed:
            listed.append(replace(int8, parity=reports[-1].to_dict()))
            break
        path.unlink()
        logger.info("int8 preset %s fails parity (%s)", preset_name, reports[-1].summary())
    if quantize and listed[-1].precision != "int8":
        logger.warning("no int8 preset of %s passes parity on %s; the CPU runs the derived fp32", ", ".join(quantize), folder)
    write_manifest(out, replace(base, variants=tuple(listed)))
    return tuple(reports)
