"""The cohort as a Spark DataFrame ``(patient_id, as_of_s)``, with the rules of :mod:`ehrfeat.patients.as_of`.

All patients (the ``patients``/``person`` table, else the events' patients) with no
as-of or one as-of date; or the rows of an as-of table (a DataFrame, a table name or
a parquet path; one row per patient or per prediction time): ids and dates are read
by :func:`ehrfeat.patients.as_of.as_int` and :func:`~ehrfeat.patients.as_of.parse_dates`
on the executors; unusable rows, unknown patients and repeated patients (earliest
as-of kept) are counted under the same reasons as on one machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ehrfeat.errors import InputError
from ehrfeat.patients.as_of import (
    AS_OF_COLUMNS,
    BAD_DATE,
    BAD_ID,
    NULL_DATE,
    PATIENT_COLUMNS,
    REPEATED,
    UNKNOWN_PATIENT,
)
from ehrfeat.spark.source import SparkSource, table

__all__ = ["SparkCohort", "known_patients", "spark_cohort"]

_ISSUES = {"bad_id": BAD_ID, "null_date": NULL_DATE, "bad_date": BAD_DATE}


@dataclass(frozen=True)
class SparkCohort:
    """``frame(patient_id, as_of_s)``: as_of_s null means the run's start; ``explicit`` as in :class:`AsOf`."""

    frame: Any
    now_s: int
    explicit: bool
    issues: dict[str, int] = field(default_factory=dict)


def known_patients(source: SparkSource, events: Any) -> Any:
    """Distinct patient ids (long) of the database: its patients table, else the canonical events' patients."""
    from pyspark.sql import functions as F

    if source.patients is not None:
        return _long_ids(source.patients.select("patient_id")).distinct()
    return events.where(F.col("issue").isNull()).select("patient_id").distinct()


def _long_ids(frame: Any) -> Any:
    from pyspark.sql import functions as F
    from pyspark.sql.types import IntegralType

    if isinstance(frame.schema["patient_id"].dataType, IntegralType):
        return frame.select(F.col("patient_id").cast("long").alias("patient_id"))

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        from ehrfeat.store.records import to_patient_ids

        for batch in batches:
            yield pd.DataFrame({"patient_id": to_patient_ids(batch["patient_id"].tolist(), "patients table")})

    return frame.mapInPandas(run, "patient_id long")


def spark_cohort(
    spark: Any, known: Any, *, as_of: Any = None, as_of_table: Any = None, as_of_column: str | None = None, now_s: int
) -> SparkCohort:
    """The cohort of :func:`ehrfeat.patients.as_of.resolve_as_of`, as a Spark frame."""
    from pyspark.sql import functions as F

    from ehrfeat.patients.timing import parse_as_of

    if as_of is not None and as_of_table is not None:
        raise InputError("give either an as-of date or an as-of table, not both", fix="drop --as-of or --as-of-table", code="E1614")
    if as_of_table is None:
        value = None if as_of is None else int(parse_as_of(as_of).astype(np.int64))
        frame = known.select("patient_id", F.lit(value).cast("long").alias("as_of_s"))
        return SparkCohort(frame, now_s, as_of is not None)
    rows = table(spark, as_of_table, "as-of table")
    cols = {c.lower(): c for c in rows.columns}
    patient = next((cols[c] for c in PATIENT_COLUMNS if c in cols), None)
    date = cols.get(as_of_column.lower()) if as_of_column else next((cols[c] for c in AS_OF_COLUMNS if c in cols), None)
    if patient is None or date is None:
        raise InputError(
            f"as-of table needs a patient_id column and a date column ({as_of_column or ' or '.join(AS_OF_COLUMNS)}); "
            f"it has {', '.join(rows.columns)}",
            fix="rename the columns, or name the date column with --as-of-column",
            code="E1615",
        )

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        from ehrfeat.patients.as_of import as_int, parse_dates
        from ehrfeat.patients.timing import NAT

        for batch in batches:
            ids = [as_int(v) for v in batch["pid"].tolist()]
            seconds, null = parse_dates(batch["date"].tolist())
            issue = np.full(len(ids), None, dtype=object)
            bad_id = np.array([v is None for v in ids], dtype=bool)
            issue[bad_id] = "bad_id"
            issue[~bad_id & null] = "null_date"
            issue[~bad_id & ~null & (seconds == NAT)] = "bad_date"
            ok = issue == None  # noqa: E711
            yield pd.DataFrame({
                "patient_id": pd.Series([v if v is not None else 0 for v in ids], dtype="Int64").mask(~ok),
                "as_of_s": pd.Series(seconds, dtype="Int64").mask(~ok),
                "issue": issue,
            })

    parsed = rows.select(F.col(patient).alias("pid"), F.col(date).alias("date")).mapInPandas(
        run, "patient_id long, as_of_s long, issue string"
    )
    known_flag = known.select("patient_id", F.lit(True).alias("known"))
    tagged = parsed.join(known_flag, "patient_id", "left").select(
        "patient_id", "as_of_s",
        F.when(F.col("issue").isNotNull(), F.col("issue")).when(F.col("known").isNull(), F.lit("unknown")).alias("issue"),
    )
    grouped = tagged.where(F.col("issue").isNull()).groupBy("patient_id").agg(
        F.min("as_of_s").alias("as_of_s"), F.count(F.lit(1)).alias("rows")
    )
    counts = {r["issue"]: int(r["n"]) for r in tagged.where(F.col("issue").isNotNull()).groupBy("issue")
              .agg(F.count(F.lit(1)).alias("n")).collect()}
    repeated = grouped.agg(F.sum(F.col("rows") - 1).alias("n")).collect()[0]["n"] or 0
    issues = {_ISSUES.get(k, UNKNOWN_PATIENT): v for k, v in counts.items() if v}
    if repeated:
        issues[REPEATED] = int(repeated)
    return SparkCohort(grouped.select("patient_id", "as_of_s"), now_s, True, issues)
