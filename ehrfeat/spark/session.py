"""Starting Spark for ehrfeat, and making the encoder's model folder travel with the job.

``spark_session("local[2]")`` is a plain ``SparkSession`` with the settings ehrfeat
relies on: UTC session time zone (event times are read as UTC, as on one machine)
and Arrow for the pandas exchange of ``mapInPandas``. On a cluster, pass your own
session to the functions of :mod:`ehrfeat.spark` instead; they only need those two
settings (``spark.sql.session.timeZone=UTC``,
``spark.sql.execution.arrow.pyspark.enabled=true``) and ehrfeat installed on the
executors (``pip install 'ehrfeat[spark]'`` on the image, or ``--py-files``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from ehrfeat.errors import ConfigError, InputError

__all__ = ["SPARK_SETTINGS", "check_session", "require_pyspark", "ship_folder", "shipped_folder", "spark_session"]

logger = logging.getLogger(__name__)

SPARK_SETTINGS: Mapping[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def require_pyspark() -> ModuleType:
    """``pyspark``, or a clear error naming the extra to install."""
    try:
        import pyspark
    except ImportError as exc:
        raise ConfigError(
            "the Spark engine needs pyspark, which is not installed",
            fix="pip install 'ehrfeat[spark]' (and Java 17: apt-get install openjdk-17-jre-headless)",
            code="E1601",
        ) from exc
    return pyspark


def spark_session(
    master: str = "local[*]", *, app_name: str = "ehrfeat", conf: Mapping[str, str] | None = None, delta: bool = False,
) -> Any:
    """A ``SparkSession`` on ``master`` with :data:`SPARK_SETTINGS` (plus ``conf``); reuses a running one.

    ``delta``: set up for Delta Lake by ``delta-spark`` (see :mod:`ehrfeat.spark.output`).
    """
    require_pyspark()
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in {**SPARK_SETTINGS, **(conf or {})}.items():
        builder = builder.config(key, value)
    if delta:
        from ehrfeat.spark.output import DELTA_FIX, with_delta

        builder = with_delta(builder)
        try:
            return builder.getOrCreate()
        except Exception as exc:  # offline, spark.jars.packages cannot be resolved and the JVM exits
            raise ConfigError(f"cannot start Spark with Delta Lake's jars (from Maven, as delta-spark asks): {exc}",
                              fix=DELTA_FIX, code="E1620") from exc
    try:
        return builder.getOrCreate()
    except Exception as exc:  # Java missing or a bad master: pyspark raises several types
        raise ConfigError(
            f"cannot start Spark on master {master!r}: {exc}",
            fix="install Java 17 (apt-get install openjdk-17-jre-headless) and check --master (local[*], spark://host:7077, yarn)",
            code="E1602",
        ) from exc


def check_session(spark: Any) -> None:
    """Refuse a session whose time zone is not UTC: event times would shift against the one-machine path."""
    zone = spark.conf.get("spark.sql.session.timeZone")
    if zone not in ("UTC", "Etc/UTC", "GMT", "Z", "+00:00"):
        raise ConfigError(
            f"the Spark session time zone is {zone!r}; ehrfeat reads event times as UTC",
            fix="spark.conf.set('spark.sql.session.timeZone', 'UTC') (or start it with ehrfeat.spark.spark_session)",
            code="E1603",
        )


def ship_folder(spark: Any, folder: str | Path) -> str:
    """Send ``folder`` (a model folder) to every executor with ``SparkContext.addFile``; returns its name there.

    On the executors, :func:`shipped_folder` of that name is the local copy. A folder
    already shipped in this session is not sent twice.
    """
    path = Path(folder).expanduser().resolve()
    if not path.is_dir():
        raise InputError(f"model folder {path} does not exist", fix="pass an existing model folder (--model)", code="E1604")
    context = spark.sparkContext
    shipped: set[str] = getattr(context, "_ehrfeat_shipped", set())
    if str(path) not in shipped:
        context.addFile(str(path), recursive=True)
        shipped.add(str(path))
        context._ehrfeat_shipped = shipped
        logger.info("shipping %s to the executors", path)
    return path.name


def shipped_folder(name: str) -> Path:
    """On an executor: the local copy of a folder sent by :func:`ship_folder`."""
    from pyspark import SparkFiles

    return Path(SparkFiles.get(name))
