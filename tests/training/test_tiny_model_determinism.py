"""make_tiny_bert is byte-identical across processes (the tokenizers trainer was not: hash-order ties)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ehrfeat.onnx.manifest import file_sha256


def test_two_processes_write_the_same_folder(tmp_path: Path) -> None:
    for name in ("a", "b"):
        code = f"from ehrfeat.training.tiny_model import make_tiny_bert; make_tiny_bert({str(tmp_path / name)!r})"
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    for file in ("tokenizer.json", "vocab.txt", "model.safetensors"):
        assert file_sha256(tmp_path / "a" / file) == file_sha256(tmp_path / "b" / file), file
