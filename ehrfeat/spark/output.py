"""Writing Spark results: a parquet folder, one parquet file (written atomically), or a Delta table.

* ``parquet`` (the default): a folder of part files, as Spark writes it.
* ``single_file=True``: the rows in one task (``coalesce(1)``: for results that fit
  one executor, such as patient vectors), written to a hidden folder next to the
  target, and its one part file then renamed onto the target path. On a local path
  the rename is ``os.replace`` (atomic: a reader sees the old file or the new one,
  never half a file); elsewhere (``hdfs://``, ``s3a://``, ``dbfs:/``) the Hadoop file
  system's rename, after deleting an old target (atomic where that rename is).
* ``delta``: a Delta Lake table. It needs Delta's jars on the Spark classpath
  (``io.delta:delta-spark_<spark>_2.13`` from Maven, which ``delta-spark``'s
  ``configure_spark_with_delta_pip`` asks Spark to fetch; built in on Databricks).
  :func:`check_format` says which piece is missing before any work is done.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from ehrfeat.errors import ConfigError, InputError
from ehrfeat.spark.targets import is_local, local_path

__all__ = ["FORMATS", "check_format", "delta_jars_loaded", "with_delta", "write_frame"]

logger = logging.getLogger(__name__)

FORMATS = ("parquet", "delta")
DELTA_SOURCE = "org.apache.spark.sql.delta.sources.DeltaDataSource"
DELTA_FIX = ("pip install delta-spark (a release whose pyspark range includes your pyspark) and let Spark fetch "
             "io.delta:delta-spark_<spark>_2.13 from Maven (spark.jars.packages, which configure_spark_with_delta_pip "
             "sets), or pass the downloaded jars with --conf spark.jars=...; Databricks has Delta built in; "
             "or write parquet (--format parquet)")


def delta_jars_loaded(spark: Any) -> bool:
    """Whether the session's JVM can load Delta's data source (its jars are on the classpath)."""
    try:
        loader = spark.sparkContext._jvm.java.lang.Thread.currentThread().getContextClassLoader()
        loader.loadClass(DELTA_SOURCE)
    except Exception:  # py4j raises Py4JJavaError (ClassNotFoundException); no JVM access on Spark Connect
        return False
    return True


def with_delta(builder: Any) -> Any:
    """``builder`` (a ``SparkSession.Builder``) set up for Delta by ``delta-spark``: its jars from Maven, its extension."""
    try:
        from delta import configure_spark_with_delta_pip
    except ImportError as exc:
        raise ConfigError("--format delta needs the delta-spark package, which is not installed",
                          fix=DELTA_FIX, code="E1618") from exc
    return configure_spark_with_delta_pip(builder).config(
        "spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension").config(
        "spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")


def check_format(spark: Any, fmt: str, *, single_file: bool = False) -> None:
    """Refuse, before any work, a format this session cannot write."""
    if fmt not in FORMATS:
        raise InputError(f"unknown output format {fmt!r}", fix=f"use one of {', '.join(FORMATS)}", code="E1619")
    if fmt == "delta" and single_file:
        raise InputError("a Delta table is a folder; it cannot be a single file",
                         fix="drop --single-file, or write parquet (--format parquet --single-file)", code="E1619")
    if fmt == "delta" and not delta_jars_loaded(spark):
        raise ConfigError(f"this Spark session cannot write Delta: Delta Lake's jars ({DELTA_SOURCE}) are not on its classpath",
                          fix=DELTA_FIX, code="E1620")


def write_frame(spark: Any, frame: Any, path: str | Path, *, fmt: str = "parquet", mode: str = "overwrite",
                single_file: bool = False) -> str:
    """Write ``frame`` to ``path`` as ``fmt`` (see the module doc); returns the path written."""
    check_format(spark, fmt, single_file=single_file)
    target = str(path)
    if fmt == "delta":
        frame.write.format("delta").mode(mode).save(target)
        return target
    if not single_file:
        frame.write.mode(mode).parquet(target)
        return target
    if mode != "overwrite":
        raise InputError(f"a single-file output is replaced, not {mode!r}", fix="use mode='overwrite'", code="E1619")
    if is_local(target):  # a local path (a drive letter is not a scheme)
        return _single_local(frame, local_path(target))
    return _single_hadoop(spark, frame, target)


def _single_local(frame: Any, target: Path) -> str:
    target = target.resolve()
    if target.is_dir():
        raise InputError(f"{target} is a folder; a single-file output replaces a file only",
                         fix="remove the folder or choose another --out", code="E1619")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    try:
        frame.coalesce(1).write.mode("overwrite").parquet(str(staging))
        parts = sorted(staging.glob("part-*.parquet"))
        if len(parts) != 1:
            raise InputError(f"Spark wrote {len(parts)} part files to {staging}, not one",
                             fix="report this; write a parquet folder meanwhile (without --single-file)", code="E1619")
        os.replace(parts[0], target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("wrote %s (one parquet file)", target)
    return str(target)


def _single_hadoop(spark: Any, frame: Any, target: str) -> str:
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    dest = jvm.org.apache.hadoop.fs.Path(target)
    fs = dest.getFileSystem(conf)
    staging = jvm.org.apache.hadoop.fs.Path(dest.getParent(), f".{dest.getName()}.{uuid.uuid4().hex}.tmp")
    try:
        frame.coalesce(1).write.mode("overwrite").parquet(staging.toString())
        parts = [s.getPath() for s in fs.listStatus(staging) if s.getPath().getName().startswith("part-")]
        if len(parts) != 1:
            raise InputError(f"Spark wrote {len(parts)} part files to {staging.toString()}, not one",
                             fix="write a parquet folder (without --single-file)", code="E1619")
        if fs.exists(dest):
            fs.delete(dest, False)
        if not fs.rename(parts[0], dest):
            raise InputError(f"could not move the output onto {target}", fix="check the target folder's permissions", code="E1619")
    finally:
        fs.delete(staging, True)
    return target
