"""One patient database as Spark frames (:class:`SparkSource`), and the table lookups every reader uses.

A table may be given as a Spark DataFrame (JDBC included: ``spark.read.jdbc(...)``),
a Spark table name (``cdm.person``), a parquet path or a Delta folder (:func:`table`);
column names are matched case-insensitively (:func:`column_names`, :func:`need_columns`).
The readers of :mod:`ehrfeat.spark.readers` build a :class:`SparkSource` from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ehrfeat.errors import InputError, SchemaError

__all__ = ["RAW_COLUMNS", "SparkSource", "catalog_has", "column_names", "need_columns", "table"]

RAW_COLUMNS = ("patient_id", "time", "code_system", "code", "domain", "text", "unmapped", "source_value")


@dataclass(frozen=True)
class SparkSource:
    """One patient database as Spark frames: raw ``events``, optional ``patients`` ids and code ``texts``."""

    kind: str  # "native", "omop" or "meds"
    events: Any  # DataFrame with RAW_COLUMNS
    patients: Any | None = None  # DataFrame(patient_id), or None: the events' patients
    texts: Any | None = None  # DataFrame(code_system, code, description) of raw codes, or None
    name: str = ""
    source_systems: Any = None  # OMOP: SourceSystems for rows without a known concept (None: the defaults)
    handled: Mapping[str, int] = field(default_factory=dict)  # rows a --duplicate-concepts rule handled, by reason


def table(spark: Any, ref: Any, what: str = "table") -> Any:
    """A DataFrame from a DataFrame, a parquet path (file or folder), a Delta folder or a Spark table name."""
    if hasattr(ref, "schema") and hasattr(ref, "select"):
        return ref
    text = str(ref)
    path = Path(text).expanduser()
    if (path / "_delta_log").is_dir():
        return spark.read.format("delta").load(str(path))
    if path.exists():
        return spark.read.parquet(str(path))
    if catalog_has(spark, "tableExists", text):
        return spark.table(text)
    raise InputError(
        f"{what} {text!r} is neither a parquet path nor a Spark table",
        fix="pass a parquet file or folder, a table name the Spark catalog knows, or a DataFrame",
        code="E1605",
    )


def catalog_has(spark: Any, check: str, name: str) -> bool:
    """``spark.catalog.tableExists(name)`` (or ``databaseExists``), False for names the catalog cannot parse."""
    try:
        return bool(getattr(spark.catalog, check)(name))
    except Exception:  # pyspark raises ParseException and others for names such as paths
        return False


def column_names(frame: Any) -> dict[str, str]:
    """The columns of ``frame`` by their lower-case name."""
    return {name.lower(): name for name in frame.columns}


def need_columns(frame: Any, names: tuple[str, ...], what: str, fix: str) -> dict[str, str]:
    """:func:`column_names` of ``frame``; a :class:`SchemaError` naming ``what`` and ``fix`` when one of ``names`` is missing."""
    cols = column_names(frame)
    missing = [n for n in names if n not in cols]
    if missing:
        raise SchemaError(f"{what} has no column {', '.join(missing)} (it has: {', '.join(frame.columns)})", fix=fix,
                          code="E1606")
    return cols
