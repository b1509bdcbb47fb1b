"""Paths in a training config: data files and ``model.init``, resolved against the config's folder.

``${VARS}`` and ``~`` are expanded first; an unset variable or a missing data file is
a :class:`ConfigError` naming the key (``sources[2].args.map_csv``) and the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ehrfeat.errors import ConfigError

__all__ = ["resolve_dir", "resolve_paths"]


def resolve_paths(args: dict[str, Any], base_dir: Path, where: str) -> dict[str, Any]:
    """A source's reader arguments with every file argument resolved and checked to exist."""
    out: dict[str, Any] = {}
    for key, value in args.items():
        if isinstance(value, str) and (key.endswith(("_csv", "_tsv", "_rrf", "path", "_json")) or key in ("mrconso", "mrrel")):
            expanded = os.path.expandvars(os.path.expanduser(value))
            if "$" in expanded:
                raise ConfigError(
                    f"{where}.args.{key} = {value!r} names an unset environment variable",
                    fix="export the variable (e.g. SHARED_DATA=/path/to/shared/data) or write the path out",
                    code="E405",
                )
            path = Path(expanded)
            path = path if path.is_absolute() else (base_dir / path)
            path = path.resolve()
            if not path.exists():
                raise ConfigError(
                    f"{where}.args.{key}: file {path} does not exist",
                    fix=f"fix the path in the config (relative paths start at {base_dir})",
                    code="E406",
                )
            out[key] = str(path)
        else:
            out[key] = value
    return out


def resolve_dir(value: str, base_dir: Path) -> Path:
    """``model.init`` against the config's folder (its existence is checked when training starts)."""
    expanded = os.path.expandvars(os.path.expanduser(value))
    if "$" in expanded:
        raise ConfigError(f"model.init = {value!r} names an unset environment variable", fix="export the variable or write the path out", code="E405")
    path = Path(expanded)
    return (path if path.is_absolute() else base_dir / path).resolve()
