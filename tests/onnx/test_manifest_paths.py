"""An ONNX manifest may name only files inside its own folder (E1230, exit 2)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from ehrfeat.errors import ModelError
from ehrfeat.onnx.manifest import MANIFEST_NAME, read_manifest


def _with_file(src: Path, dst: Path, name: str) -> Path:
    shutil.copytree(src, dst)
    data = json.loads((dst / MANIFEST_NAME).read_text())
    for variant in data["variants"]:
        variant["file"] = name
    (dst / MANIFEST_NAME).write_text(json.dumps(data))
    return dst


@pytest.mark.parametrize("name", ["../outside.onnx", "onnx/../../outside.onnx", "/etc/passwd", "onnx\\..\\..\\x.onnx", "C:/x.onnx", ""])
def test_a_file_outside_the_folder_is_refused(tiny_onnx: Path, tmp_path: Path, name: str) -> None:
    folder = _with_file(tiny_onnx, tmp_path / "model", name)
    with pytest.raises(ModelError) as info:
        read_manifest(folder)
    assert info.value.code == "E1230" and repr(name) in str(info.value) and "inside" in str(info.value)


def test_a_link_leading_out_is_refused(tiny_onnx: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.onnx"
    outside.write_bytes(b"not a model")
    folder = _with_file(tiny_onnx, tmp_path / "model", "onnx/link.onnx")
    os.symlink(outside, folder / "onnx" / "link.onnx")
    with pytest.raises(ModelError, match="E1230"):
        read_manifest(folder)


def test_files_inside_still_load(tiny_onnx: Path) -> None:
    manifest = read_manifest(tiny_onnx)
    assert all((tiny_onnx / v.file).is_file() for v in manifest.variants)


def test_cli_exits_2_naming_the_manifest(tiny_onnx: Path, tmp_path: Path) -> None:
    folder = _with_file(tiny_onnx, tmp_path / "model", "../../secret.onnx")
    result = CliRunner().invoke(app, ["build-index", str(tmp_path / "idx"), "--model", str(folder)])
    assert result.exit_code == 2, result.output
    assert "E1230" in result.output and MANIFEST_NAME in result.output and "Traceback" not in result.output
    assert not (tmp_path / "idx").exists()
