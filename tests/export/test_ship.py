"""ehrfeat.export.ship: only the fp16 variant that passed its gate, with what loads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ehrfeat.export import ship
from ehrfeat.onnx.manifest import file_sha256


def _export(folder: Path, fp16_passed: bool = True) -> Path:
    (folder / "onnx").mkdir(parents=True)
    for name in ("model.onnx", "model_fp16.onnx"):
        (folder / "onnx" / name).write_bytes(name.encode())
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "config.json", "ehrfeat_manifest.json"):
        (folder / name).write_text("{}")
    (folder / "parity_report.json").write_text("[]")
    variants = [
        {"name": "fp32", "file": "onnx/model.onnx", "parity": {"passed": True}},
        {"name": "fp16", "file": "onnx/model_fp16.onnx", "sha256": file_sha256(folder / "onnx/model_fp16.onnx"), "parity": {"passed": fp16_passed}},
    ]
    (folder / "ehrfeat_onnx.json").write_text(json.dumps({"source": {"model": "/somewhere"}, "variants": variants}))
    return folder


def test_ships_fp16_only(tmp_path: Path) -> None:
    export = _export(tmp_path / "export")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "ehrfeat_heldout.json").write_text("{}")
    out = ship.main(export, tmp_path / "run", "hiprbert-mini", tmp_path / "shipped")
    manifest = json.loads((out / "ehrfeat_onnx.json").read_text())
    assert [v["name"] for v in manifest["variants"]] == ["fp16"] and manifest["source"]["model"] == "hiprbert-mini"
    assert file_sha256(out / "onnx" / "model_fp16.onnx") == manifest["variants"][0]["sha256"]
    assert not (out / "onnx" / "model.onnx").exists()
    assert (out / "ehrfeat_heldout.json").is_file() and "| link_hpo@1 |" in (out / "README.md").read_text()


def test_refuses_an_export_without_a_passing_fp16(tmp_path: Path) -> None:
    export = _export(tmp_path / "export", fp16_passed=False)
    with pytest.raises(SystemExit):
        ship.main(export, tmp_path, "hiprbert-mini", tmp_path / "shipped")


@pytest.mark.parametrize(("trained", "positions", "shipped"), [(25, 512, 64), (128, 512, 128), (25, 32, 32)])
def test_shipped_max_length_is_at_least_64_within_the_positions(tmp_path: Path, trained: int, positions: int, shipped: int) -> None:
    export = _export(tmp_path / "export")
    manifest = json.loads((export / "ehrfeat_onnx.json").read_text())
    (export / "ehrfeat_onnx.json").write_text(json.dumps({**manifest, "max_length": trained}))
    (export / "config.json").write_text(json.dumps({"max_position_embeddings": positions}))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "ehrfeat_heldout.json").write_text("{}")
    out = ship.main(export, tmp_path / "run", "hiprbert-mini", tmp_path / "shipped")
    assert json.loads((out / "ehrfeat_onnx.json").read_text())["max_length"] == shipped
