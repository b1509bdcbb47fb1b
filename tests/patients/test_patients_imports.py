"""Patient vectors are on the runtime path: no torch; scikit-learn and matplotlib only where used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_patient_vectors_import_no_torch_sklearn_or_matplotlib():
    code = (
        "import sys\n"
        "import ehrfeat.patients, ehrfeat.patients.vectors, ehrfeat.patients.output, ehrfeat.patients.counts\n"
        "import ehrfeat.cli.main\n"
        "bad = [m for m in ('torch', 'transformers', 'sklearn', 'matplotlib', 'ehrfeat.training', 'ehrfeat.export.exporter')"
        " if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported: {out.stdout.strip()}"
