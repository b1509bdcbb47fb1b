"""One training run per output folder at a time.

Two ``ehrfeat train`` started at once into one folder would interleave their checkpoints
and write one model over the other. A run holds an advisory lock on
``<output>/.ehrfeat-train.lock`` (``fcntl.flock``) from the moment it makes the folder to
its end; the system releases it when the process ends, even when it is killed. A second
run is refused at once (E1726), naming the folder and the first run's process id; it
writes nothing. The lock file goes when the run ends; a killed run leaves it behind,
unlocked, and the next run into the folder takes it over. Where ``fcntl`` is missing
(Windows) runs are not locked.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ehrfeat.errors import InputError

__all__ = ["LOCK_FILE", "run_lock"]

logger = logging.getLogger(__name__)

LOCK_FILE = ".ehrfeat-train.lock"


def _refused(folder: Path, handle: IO[str]) -> InputError:
    handle.seek(0)
    holder = handle.read().strip() or "unknown"
    return InputError(
        f"another ehrfeat train (process {holder}) is writing to {folder}; two runs into one folder would write over each other",
        fix="wait for that run to end (it resumes from its checkpoints if stopped), or train into another folder",
        code="E1726",
    )


@contextmanager
def run_lock(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s training lock for the ``with`` block, or raise E1726 when another run holds it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        logger.debug("no fcntl on this system: the training folder %s is not locked", folder)
        yield
        return
    path = folder / LOCK_FILE
    while True:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole block
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            error = _refused(folder, handle)
            handle.close()
            raise error from None
        try:
            same = os.path.exists(path) and os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
        except OSError:
            same = False
        if same:
            break
        handle.close()  # the lock file went between open and lock (its run ended): take the new one
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        path.unlink(missing_ok=True)
        handle.close()
