"""Code -> name tables of the built-in dictionaries, kept as JSON in ehrfeat's cache folder.

Reading ICD-10-CM's tabular XML (``simple_icd_10_cm``'s import) or HPO's ``hp.obo``
takes seconds, in every process that needs a name. The first process writes the
table it built to ``<cache_dir>/dictionaries/<name>-<package version>-v<FORMAT>.json``
(atomically); later ones read that file in a fraction of the time. A new package
version gets a new file, so a table never outlives its source. The cache is ehrfeat's
own: a file that does not parse as a ``{code: name}`` table is rebuilt, and a cache
folder that cannot be written only costs the next process the build again. JSON, not
pickle: reading the cache never runs code.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from ehrfeat.paths import atomic_file, cache_dir

__all__ = ["FORMAT", "cached_names", "names_path"]

logger = logging.getLogger(__name__)

FORMAT = 1  # bump when what a table holds changes for the same package version


def names_path(name: str, distribution: str) -> Path | None:
    """Where ``name``'s table for the installed ``distribution`` lives; ``None`` when its version is unknown."""
    try:
        version = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
    return cache_dir() / "dictionaries" / f"{name}-{re.sub(r'[^0-9A-Za-z.]+', '_', version)}-v{FORMAT}.json"


def _read(path: Path) -> dict[str, str] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("rebuilding the unreadable name table %s (%s)", path, exc)
        return None
    if isinstance(data, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        return data
    logger.warning("rebuilding the name table %s: it is not a {code: name} table", path)
    return None


def cached_names(name: str, distribution: str, build: Callable[[], dict[str, str]]) -> dict[str, str]:
    """``name``'s table from the cache, else from ``build()`` (then written to the cache)."""
    path = names_path(name, distribution)
    if path is not None and (table := _read(path)) is not None:
        return table
    table = build()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_file(path) as tmp:
                tmp.write_text(json.dumps(table, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        except OSError as exc:
            logger.info("the %s names are not cached (%s: %s); the next process builds them again", name, path, exc)
    return table
