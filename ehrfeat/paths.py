"""Where ehrfeat keeps what it derives on first use (ONNX exports, linking indexes)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir() -> Path:
    """ehrfeat's user cache folder: ``$EHRFEAT_CACHE``, else ``$XDG_CACHE_HOME/ehrfeat``, else ``~/.cache/ehrfeat``."""
    if os.environ.get("EHRFEAT_CACHE"):
        return Path(os.environ["EHRFEAT_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "ehrfeat"
