"""What a Spark output path holds now, and the check that keeps Spark from replacing what ehrfeat did not write.

Spark's ``mode("overwrite")`` deletes the target folder (or file) before it writes, and
``mode("append")`` adds part files to whatever folder it is given. So before any work,
:func:`check_spark_target` looks at the target (on the driver: a local path directly, any
other file system, ``hdfs://``, ``s3a://``, ``dbfs:/``, through the session's Hadoop file
system) and accepts only

* nothing there yet, or an empty folder;
* for parquet, a folder of Spark part files (``part-*``, ``_SUCCESS``, ``.crc`` and commit
  markers, nothing else) whose rows have the columns of this output, or, where a file may
  be replaced (``patient-vectors --single-file``), a parquet file with those columns;
* for Delta, a Delta table (a folder with ``_delta_log``) with those columns.

Anything else is refused with error E1621, naming the path and what it holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ehrfeat.errors import InputError

__all__ = ["EMBEDDING_COLUMNS", "VECTOR_COLUMNS", "SparkTarget", "check_spark_target", "check_vectors_target", "inspect_target",
           "is_local", "local_path"]

EMBEDDING_COLUMNS = ("fingerprint", "code_system", "code", "vector")
VECTOR_COLUMNS = ("patient_id", "n_events", "no_codes")
_SPARK_NAMES = re.compile(r"^(part-.*|_SUCCESS|_committed_.*|_started_.*|\..*\.crc)$")


@dataclass(frozen=True)
class SparkTarget:
    """An output path as found: ``kind`` is ``missing``, ``file`` or ``folder`` (with the ``names`` it holds)."""

    path: str
    kind: str
    names: tuple[str, ...] = ()

    @property
    def is_delta(self) -> bool:
        return self.kind == "folder" and "_delta_log" in self.names

    @property
    def is_part_folder(self) -> bool:
        """A folder Spark wrote parquet into (part files and markers only)."""
        return self.kind == "folder" and bool(self.names) and all(_SPARK_NAMES.match(n) for n in self.names)

    @property
    def has_rows(self) -> bool:
        """Whether there is a table to read (a Delta table, or parquet part files, or a parquet file)."""
        return self.kind == "file" or self.is_delta or any(n.startswith("part-") for n in self.names)


def is_local(path: str | Path) -> bool:
    """A path on the driver's own disk (no scheme, ``file:``, or a Windows drive letter)."""
    scheme = urlparse(str(path)).scheme
    return scheme in ("", "file") or len(scheme) == 1


def inspect_target(spark: Any, path: str | Path) -> SparkTarget:
    """What ``path`` holds now."""
    return _local_target(str(path)) if is_local(path) else _hadoop_target(spark, str(path))


def local_path(text: str) -> Path:
    """The driver-disk path of a local ``text`` (a plain path or a ``file:`` URL)."""
    return Path(urlparse(text).path if urlparse(text).scheme == "file" else text).expanduser()


def _local_target(text: str) -> SparkTarget:
    local = local_path(text)
    if local.is_dir():
        return SparkTarget(text, "folder", tuple(sorted(p.name for p in local.iterdir())))
    return SparkTarget(text, "file" if local.exists() else "missing")


def _hadoop_target(spark: Any, text: str) -> SparkTarget:
    """Through the session's Hadoop file system (``hdfs://``, ``s3a://``, ``dbfs:/``; also ``file:`` URLs)."""
    jvm = spark.sparkContext._jvm
    dest = jvm.org.apache.hadoop.fs.Path(text)
    fs = dest.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(dest):
        return SparkTarget(text, "missing")
    if not fs.getFileStatus(dest).isDirectory():
        return SparkTarget(text, "file")
    return SparkTarget(text, "folder", tuple(sorted(s.getPath().getName() for s in fs.listStatus(dest))))


def _columns(spark: Any, target: SparkTarget) -> set[str]:
    reader = spark.read.format("delta") if target.is_delta else spark.read.format("parquet")
    try:
        return set(reader.load(target.path).columns)
    except Exception:  # not readable as a table: py4j and Spark raise several types
        return set()


def check_spark_target(spark: Any, path: str | Path, *, columns: tuple[str, ...], what: str, fmt: str = "parquet",
                       replace_file: bool = False) -> SparkTarget:
    """Refuse (E1621), before any work, a ``path`` that holds something this output may not replace or append to.

    ``columns``: the columns every table of this output has; ``replace_file``: a parquet file
    with them may be replaced (a single-file output), else a file is refused.
    """
    target = inspect_target(spark, path)
    if target.kind == "missing" or (target.kind == "folder" and not target.names):
        return target
    text = str(path).rstrip("/")
    new = text[: -len(".parquet")] + "-spark" if text.endswith(".parquet") else text + "-ehrfeat"
    fix = f"choose a new --out path, e.g. {new} (ehrfeat never deletes or overwrites what it did not create)"
    if columns == EMBEDDING_COLUMNS:
        fix += "; patient-vectors --engine spark then takes it as --embeddings"
    if target.kind == "file" and not replace_file:
        raise InputError(f"{what} {path} is a single file; Spark writes this output as a "
                         f"{'Delta table' if fmt == 'delta' else 'parquet folder'}", fix=fix, code="E1621")
    if target.kind == "folder" and fmt == "delta" and not target.is_delta:
        if target.is_part_folder:
            fix += "; or write parquet (--format parquet)"
        raise InputError(f"{what} {path} is a folder that is not a Delta table (it holds {_shown(target.names)})", fix=fix,
                         code="E1621")
    if target.kind == "folder" and fmt != "delta" and not target.is_part_folder:
        if target.is_delta:
            fix += "; or write Delta (--format delta)"
        kind = "a Delta table" if target.is_delta else f"a folder of other files ({_shown(target.names)})"
        raise InputError(f"{what} {path} is {kind}, not a parquet folder ehrfeat wrote", fix=fix, code="E1621")
    missing = [c for c in columns if c not in _columns(spark, target)] if target.has_rows else []
    if missing:
        raise InputError(f"{what} {path} holds another table (no column {', '.join(missing)})", fix=fix, code="E1621")
    return target


def check_vectors_target(spark: Any, path: str | Path, *, fmt: str = "parquet") -> SparkTarget:
    """:func:`check_spark_target` for patient vectors: an earlier run's folder, file or table is replaced."""
    return check_spark_target(spark, path, columns=VECTOR_COLUMNS, what="patient-vector output", fmt=fmt,
                              replace_file=fmt != "delta")


def _shown(names: tuple[str, ...]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
