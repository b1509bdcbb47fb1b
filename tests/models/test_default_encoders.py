"""The real default encoders in an empty user cache, with no torch imported by the caller.

The default, the shipped hiprbert-mini, derives its CPU variants (fp32 upcast, int8) on first
load; embed-codes then runs on it. ``minilm`` is exported once (subprocess) with parity on
2,000 ICD-10-CM terms."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import make_native_db

REPO = Path(__file__).resolve().parents[2]
HEAVY = "[m for m in ('torch', 'transformers', 'sentence_transformers', 'optimum') if m in sys.modules]"


def _run(script: str, cache: Path) -> dict:  # type: ignore[type-arg]
    env = {**os.environ, "EHRFEAT_CACHE": str(cache)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def default_cache(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    """An empty user cache in which the default encoder is loaded (and so derived) once."""
    return _load(tmp_path_factory.mktemp("ehrfeat-cache"), "")


def _load(cache: Path, model: str) -> tuple[Path, dict]:  # type: ignore[type-arg]
    script = (
        "import sys, json\n"
        "from ehrfeat import load_encoder\n"
        f"e = load_encoder({model!r} or None)\n"
        "v = e.encode(['Type 2 diabetes mellitus without complications', 'Essential (primary) hypertension'])\n"
        f"heavy = {HEAVY}\n"
        "print(json.dumps({'dim': int(v.shape[1]), 'heavy': heavy, 'folder': str(e.folder), 'variant': e.variant.name}))\n"
    )
    return cache, _run(script, cache)


@pytest.mark.slow
def test_default_encoder_is_the_shipped_model_derived_without_torch(default_cache: tuple[Path, dict]) -> None:  # type: ignore[type-arg]
    cache, result = default_cache
    assert result["dim"] == 384 and result["heavy"] == [] and result["variant"] == "int8"
    folder = Path(result["folder"])
    assert folder.parent == cache / "onnx" and folder.name.startswith("hiprbert-mini-")
    manifest = json.loads((folder / "ehrfeat_onnx.json").read_text())
    parity = {v["name"]: v["parity"] for v in manifest["variants"]}
    assert set(parity) == {"fp16", "fp32", "int8"} and manifest["source"]["derived_from"]["variant"] == "fp16"
    assert parity["fp32"]["min_cosine"] >= 0.999 and parity["int8"]["top10_overlap"] >= 0.9 and parity["int8"]["passed"]


@pytest.mark.slow
def test_minilm_is_exported_once_without_torch(tmp_path: Path) -> None:
    _, result = _load(tmp_path, "minilm")
    assert result["dim"] == 384 and result["heavy"] == [] and result["variant"] == "int8"
    manifest = json.loads((Path(result["folder"]) / "ehrfeat_onnx.json").read_text())
    parity = {v["name"]: v["parity"] for v in manifest["variants"]}
    assert parity["fp32"]["terms"] == 2000 and parity["fp32"]["min_cosine"] >= 0.9999
    assert parity["int8"]["mean_cosine"] >= 0.99 and parity["int8"]["top10_overlap"] >= 0.9


@pytest.mark.slow
def test_embed_codes_runs_on_onnx_by_default_without_torch(default_cache: tuple[Path, dict], tmp_path: Path) -> None:  # type: ignore[type-arg]
    cache, exported = default_cache
    codes = ["E11.9", "E11.65", "E11.22", "E10.9", "I10", "I50.9", "J44.1", "F32.9", "C50.911", "N18.3"]
    db = make_native_db(tmp_path / "p.db", [(i, "2020-01-01", "ICD10CM", c, None) for i, c in enumerate(codes)])
    script = (
        "import sys, json\n"
        "from ehrfeat.cli.main import app\n"
        f"app(['embed-codes', {str(db)!r}, '--no-progress'], standalone_mode=False)\n"
        "from ehrfeat.similar import similar_codes\n"
        f"_, _, near = similar_codes('E11.9', {str(db)!r}, k=3)\n"
        f"heavy = {HEAVY}\n"
        "print(json.dumps({'heavy': heavy, 'near': [n.code for n in near]}))\n"
    )
    result = _run(script, cache)
    assert result["heavy"] == []
    assert set(result["near"][:2]) <= {"E11.65", "E11.22", "E10.9"}
    import sqlite3

    con = sqlite3.connect(db)
    fingerprints = {fp for (fp,) in con.execute("SELECT DISTINCT fingerprint FROM code_embeddings")}
    con.close()
    manifest = json.loads((Path(exported["folder"]) / "ehrfeat_onnx.json").read_text())
    int8 = next(v for v in manifest["variants"] if v["name"] == "int8")
    assert fingerprints == {int8["sha256"]}  # the ONNX int8 variant's sha256 is the encoder fingerprint
