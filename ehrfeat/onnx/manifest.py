"""``ehrfeat_onnx.json``: what an exported model folder holds and how each variant was checked.

The manifest sits at the root of a sentence-transformers style model folder whose
ONNX files live in ``onnx/``. Every variant is listed with its sha256 (the
fingerprint of an encoder that runs it), precision, optimisation level and the
parity figures it passed. Only variants that passed their gate are ever listed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ehrfeat.errors import ModelError

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "OnnxManifest",
    "VariantEntry",
    "file_sha256",
    "has_manifest",
    "read_manifest",
    "verified_file",
    "write_manifest",
]

MANIFEST_NAME = "ehrfeat_onnx.json"
FORMAT_VERSION = 1


def file_sha256(path: Path) -> str:
    """sha256 of a file, streamed in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verified_file(path: Path, sha256: str, verify: bool, *, missing: Exception, changed: Exception) -> Path:
    """``path``, once it exists (else ``missing`` is raised) and, with ``verify``, has ``sha256`` (else ``changed``)."""
    if not path.is_file():
        raise missing
    if verify and file_sha256(path) != sha256:
        raise changed
    return path


@dataclass(frozen=True)
class VariantEntry:
    """One ONNX file of the folder: ``file`` is relative to the folder (``onnx/model_O3.onnx``)."""

    name: str
    file: str
    sha256: str
    precision: str  # fp32 | fp16 | int8
    optimization: str | None = None  # O1..O4 or None
    quantization: dict[str, Any] | None = None
    parity: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OnnxManifest:
    """Settings shared by all variants, and the variants themselves."""

    source: dict[str, Any]
    pooling: str
    max_length: int
    dim: int
    vocab_size: int
    tokenizer_sha256: str
    variants: tuple[VariantEntry, ...] = ()
    outputs: tuple[str, ...] = ("sentence_embedding", "token_embeddings")
    format_version: int = FORMAT_VERSION

    def variant(self, name: str) -> VariantEntry | None:
        for entry in self.variants:
            if name in (entry.name, entry.file, Path(entry.file).name):
                return entry
        return None

    def with_variant(self, entry: VariantEntry) -> OnnxManifest:
        """A copy listing ``entry`` (replacing a variant of the same name)."""
        kept = tuple(v for v in self.variants if v.name != entry.name)
        return replace(self, variants=(*kept, entry))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["variants"] = [asdict(v) for v in self.variants]
        data["outputs"] = list(self.outputs)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OnnxManifest:
        variants = tuple(VariantEntry(**v) for v in data.get("variants", []))
        return cls(
            source=dict(data["source"]),
            pooling=str(data["pooling"]),
            max_length=int(data["max_length"]),
            dim=int(data["dim"]),
            vocab_size=int(data["vocab_size"]),
            tokenizer_sha256=str(data["tokenizer_sha256"]),
            variants=variants,
            outputs=tuple(data.get("outputs", ("sentence_embedding", "token_embeddings"))),
            format_version=int(data.get("format_version", FORMAT_VERSION)),
        )


def has_manifest(folder: str | Path) -> bool:
    return (Path(folder) / MANIFEST_NAME).is_file()


def read_manifest(folder: str | Path) -> OnnxManifest:
    """The manifest of an exported folder, or a :class:`ModelError` saying how to make one."""
    folder = Path(folder)
    path = folder / MANIFEST_NAME
    if not folder.is_dir():
        raise ModelError(f"ONNX model folder {folder} does not exist", fix="pass the OUT_DIR of `ehrfeat export`", code="E310")
    if not path.is_file():
        raise ModelError(
            f"{folder} has no {MANIFEST_NAME}: it is not an ehrfeat ONNX export",
            fix=f"run `ehrfeat export {folder} OUT_DIR` once and load OUT_DIR, or use backend='torch'",
            code="E310",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        manifest = OnnxManifest.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"cannot read {path}: {exc}", fix="re-run `ehrfeat export` into a fresh folder", code="E311") from exc
    if manifest.format_version > FORMAT_VERSION:
        raise ModelError(
            f"{path} has format version {manifest.format_version}; this ehrfeat reads up to {FORMAT_VERSION}",
            fix="upgrade ehrfeat, or re-export with this version",
            code="E311",
        )
    if not manifest.variants:
        raise ModelError(f"{path} lists no variant", fix="re-run `ehrfeat export`", code="E311")
    for entry in manifest.variants:
        _check_inside(folder, path, entry.file)
    return manifest


def _check_inside(folder: Path, path: Path, name: str) -> None:
    """Refuse a variant file outside the folder: an absolute path, a ``..`` part, or a link leading out."""
    parts = Path(name).parts
    outside = not name or Path(name).is_absolute() or "\\" in name or ".." in parts or (len(name) > 1 and name[1] == ":")
    if not outside:
        root = folder.resolve()
        outside = root not in (folder / name).resolve().parents
    if outside:
        raise ModelError(
            f"{path} names the variant file {name!r}, which is not inside {folder}; a manifest may name only files in its own folder",
            fix="re-export the model with `ehrfeat export MODEL OUT_DIR`, or correct the file names in the manifest to paths "
            "inside the folder (e.g. onnx/model.onnx)",
            code="E1230",
        )


def write_manifest(folder: str | Path, manifest: OnnxManifest) -> Path:
    """Write the manifest atomically (temp file + rename), so readers never see half of it."""
    folder = Path(folder)
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", suffix=".json", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(manifest.to_dict(), fh, indent=2, sort_keys=True)
        fh.write("\n")
    target = folder / MANIFEST_NAME
    os.replace(tmp, target)
    return target
