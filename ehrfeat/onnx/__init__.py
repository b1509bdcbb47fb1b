"""ONNX runtime of ehrfeat (torch-free); the export side lives in ``ehrfeat.export.exporter``.

Importing this package loads only numpy, onnxruntime and tokenizers.
"""

from __future__ import annotations

from ehrfeat.onnx.manifest import MANIFEST_NAME, OnnxManifest, VariantEntry, has_manifest, read_manifest
from ehrfeat.onnx.providers import available_providers, requested_providers
from ehrfeat.onnx.runtime import EncodeStats, OnnxEncoder
from ehrfeat.onnx.variants import choose_variant

__all__ = [
    "MANIFEST_NAME",
    "EncodeStats",
    "OnnxEncoder",
    "OnnxManifest",
    "VariantEntry",
    "available_providers",
    "choose_variant",
    "has_manifest",
    "read_manifest",
    "requested_providers",
]
