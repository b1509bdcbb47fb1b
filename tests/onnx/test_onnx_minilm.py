"""The real all-MiniLM-L6-v2: default load exports it once (subprocess) with parity on 2,000 ICD-10-CM terms."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_default_encoder_is_exported_minilm_without_torch(tmp_path: Path) -> None:
    script = (
        "import sys, json\n"
        "from ehrfeat import load_encoder\n"
        "e = load_encoder()\n"
        "v = e.encode(['Type 2 diabetes mellitus without complications', 'Essential (primary) hypertension'])\n"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'optimum') if m in sys.modules]\n"
        "print(json.dumps({'dim': int(v.shape[1]), 'heavy': heavy, 'folder': str(e.folder), 'variant': e.variant.name}))\n"
    )
    env = {**os.environ, "EHRFEAT_CACHE": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["dim"] == 384 and result["heavy"] == [] and result["variant"] == "int8"
    manifest = json.loads((Path(result["folder"]) / "ehrfeat_onnx.json").read_text())
    parity = {v["name"]: v["parity"] for v in manifest["variants"]}
    assert parity["fp32"]["terms"] == 2000 and parity["fp32"]["min_cosine"] >= 0.9999
    assert parity["int8"]["mean_cosine"] >= 0.99 and parity["int8"]["top10_overlap"] >= 0.9
