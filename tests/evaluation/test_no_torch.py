"""Evaluation and the training data layer must import without torch (ONNX-only installs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_evaluation_and_data_layer_import_no_torch() -> None:
    code = (
        "import sys, ehrfeat.evaluation, ehrfeat.training, ehrfeat.training.data_sources, ehrfeat.cli.train, ehrfeat.cli.evaluate\n"
        "print(','.join(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
