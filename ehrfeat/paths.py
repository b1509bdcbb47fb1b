"""Where ehrfeat keeps what it derives on first use, and the checks every output path goes through.

No command deletes or overwrites what it did not create: :func:`check_output_file` and
:func:`check_output_folder` run before the work starts (a read-only target fails at
once, not after an hour of embedding), and :func:`replace_folder` swaps a finished
folder into place so a reader never sees half of one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ehrfeat.errors import InputError

__all__ = ["atomic_file", "cache_dir", "check_output_file", "check_output_folder", "check_writable_dir", "json_has_keys",
           "parquet_has_columns", "replace_folder"]

logger = logging.getLogger(__name__)


def cache_dir() -> Path:
    """ehrfeat's user cache folder: ``$EHRFEAT_CACHE``, else ``$XDG_CACHE_HOME/ehrfeat``, else ``~/.cache/ehrfeat``."""
    if os.environ.get("EHRFEAT_CACHE"):
        return Path(os.environ["EHRFEAT_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "ehrfeat"


def _existing_ancestor(path: Path) -> Path:
    for parent in (path, *path.parents):
        if parent.exists():
            return parent
    return Path(path.anchor or ".")


def check_writable_dir(folder: str | os.PathLike[str], what: str = "output") -> Path:
    """``folder`` (or the nearest existing folder above it) accepts new files; else an error naming it."""
    folder = Path(folder).absolute()
    base = _existing_ancestor(folder)
    if not base.is_dir():
        raise InputError(f"{what} {folder}: {base} is a file, not a folder", fix="choose a path under a folder", code="E1202")
    try:
        fd, probe = tempfile.mkstemp(prefix=".ehrfeat-write-check-", dir=base)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(
            f"cannot write the {what} {folder}: {base} is not writable ({exc.strerror or exc})",
            fix="choose a writable place for the output (for example under your home folder)",
            code="E1202",
        ) from exc
    return folder


def check_output_file(
    path: str | os.PathLike[str], what: str = "output file", *, ours: Callable[[Path], bool], example: str = "out.parquet"
) -> Path:
    """Refuse, before any work, an output file that is a folder, cannot be written, or exists and is not ``ours``
    (a file this command wrote before, which it may replace)."""
    path = Path(path).absolute()
    if path.is_dir():
        raise InputError(f"{what} {path} is a folder", fix="give a file name, e.g. " + str(path / example), code="E1203")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{what} {path} exists and is read-only", fix="choose another file name, or make it writable", code="E1202")
    if path.is_file() and not ours(path):
        raise InputError(
            f"{what} {path} exists and is not one ehrfeat wrote; ehrfeat never deletes or overwrites what it did not create",
            fix=f"choose a new file name, e.g. {path.with_name(path.stem + '-ehrfeat' + path.suffix)}",
            code="E1204",
        )
    check_writable_dir(path.parent, what)
    return path


def parquet_has_columns(path: Path, columns: Iterable[str]) -> bool:
    """``path`` is a parquet file whose schema has every one of ``columns`` (an earlier output of ours)."""
    import pyarrow.parquet as pq

    try:
        names = set(pq.read_schema(path).names)
    except Exception:  # pyarrow raises several types for files that are not parquet
        return False
    return names.issuperset(columns)


def json_has_keys(path: Path, keys: Iterable[str]) -> bool:
    """``path`` is a JSON object with every one of ``keys`` (an earlier report of ours)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, dict) and set(data).issuperset(keys)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary name beside ``path`` (same suffix) to write to; renamed to ``path`` only when the block succeeds.

    A run killed while writing leaves the old file (or none) at ``path``, never half a file;
    at most a hidden ``.NAME.tmp-PID`` file beside it.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_output_folder(
    folder: str | os.PathLike[str], ours: Callable[[Path], bool], what: str, *, example: str = "out"
) -> Path:
    """Refuse a folder that exists, is not empty and is not ``ours`` (a folder this command wrote before)."""
    folder = Path(folder).absolute()
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{what} {folder} is a file, not a folder", fix="give a folder path that does not exist yet", code="E1201")
    if folder.is_dir() and any(folder.iterdir()) and not ours(folder):
        held = sorted(p.name for p in folder.iterdir())
        shown = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
        raise InputError(
            f"{what} {folder} is not empty and is not one ehrfeat wrote (it holds {shown}); "
            "ehrfeat never deletes or overwrites what it did not create",
            fix=f"choose a new or empty folder, e.g. {folder / example}",
            code="E1201",
        )
    check_writable_dir(folder.parent, what)
    if folder.is_dir():
        check_writable_dir(folder, what)
    return folder


def replace_folder(built: Path, folder: Path, owned: Iterable[str]) -> None:
    """Put the finished folder ``built`` at ``folder``, replacing an old one that holds only ``owned`` names.

    An empty existing folder keeps its identity (the files move in, the index file last
    of ``owned``); an old folder is renamed aside, the new one renamed in, then the old
    one's own files removed; on failure the old one is put back.
    """
    owned = tuple(owned)
    if folder.is_dir() and not any(folder.iterdir()):
        for name in sorted((p.name for p in built.iterdir()), key=lambda n: n == owned[0]):
            os.replace(built / name, folder / name)
        built.rmdir()
        return
    if not folder.exists():
        os.replace(built, folder)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{folder.name}-old-", dir=folder.parent))
    aside.rmdir()
    os.replace(folder, aside)
    try:
        os.replace(built, folder)
    except BaseException:
        os.replace(aside, folder)
        raise
    for name in owned:
        (aside / name).unlink(missing_ok=True)
    try:
        aside.rmdir()
    except OSError:  # something not ours appeared meanwhile: keep it
        logger.warning("kept %s: it holds files ehrfeat did not write", aside)
