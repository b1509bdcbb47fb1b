"""Patient data as Spark DataFrames: ehrfeat's native tables, OMOP CDM tables and MEDS shards.

Every reader returns a :class:`SparkSource` whose ``events`` frame has the raw
columns ``patient_id, time, code_system, code, domain, text, unmapped`` (codes and
times as stored; :mod:`ehrfeat.spark.events` normalises them with the one-machine
rules). A table may be given as a Spark DataFrame (JDBC included:
``spark.read.jdbc(...)``), a Spark table name (``cdm.person``), or a parquet path
(:func:`ehrfeat.spark.source.table`).

* native: ``events(patient_id, time, code_system, code)``, optional ``patients`` and ``vocabulary``;
* OMOP CDM 5.3/5.4: ``person``, the clinical tables, optional ``concept`` (codes are
  ``vocabulary_id/concept_code`` with ``concept_name`` as text; standard concept first,
  then the source concept, as in :mod:`ehrfeat.store.omop`);
* MEDS: ``data/**/*.parquet`` (``subject_id, time, code``; ``ICD10CM/E11.9`` is system
  ``ICD10CM``, code ``E11.9``; a code without ``/`` is system ``MEDS``) and optional
  ``metadata/codes.parquet`` (``code, description``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ehrfeat.errors import InputError, SchemaError
from ehrfeat.spark.source import RAW_COLUMNS, SparkSource, catalog_has, column_names, need_columns, table
from ehrfeat.store.schema import OMOP_DOMAIN_TABLES, check_duplicate_rule, omop_event_columns

__all__ = ["RAW_COLUMNS", "SparkSource", "read_meds", "read_native", "read_omop", "read_source", "table"]

MEDS_DEFAULT_SYSTEM = "MEDS"


def read_native(spark: Any, events: Any, patients: Any = None, vocabulary: Any = None) -> SparkSource:
    """The native schema: ``events`` and optional ``patients`` / ``vocabulary`` (frames, paths or table names)."""
    from pyspark.sql import functions as F

    ev = table(spark, events, "events table")
    cols = need_columns(ev, ("patient_id", "time", "code_system", "code"), "events table",
                 "the native events table needs patient_id, time, code_system, code")
    raw = ev.select(
        F.col(cols["patient_id"]).alias("patient_id"), F.col(cols["time"]).alias("time"),
        F.col(cols["code_system"]).cast("string").alias("code_system"), F.col(cols["code"]).cast("string").alias("code"),
        F.lit(None).cast("string").alias("domain"), F.lit(None).cast("string").alias("text"), F.lit(False).alias("unmapped"),
        F.lit(None).cast("string").alias("source_value"),
    )
    people = None
    if patients is not None:
        frame = table(spark, patients, "patients table")
        pc = need_columns(frame, ("patient_id",), "patients table", "patients(patient_id, birth_date, sex)")
        people = frame.select(F.col(pc["patient_id"]).alias("patient_id")).where(F.col("patient_id").isNotNull())
    texts = None
    if vocabulary is not None:
        frame = table(spark, vocabulary, "vocabulary table")
        vc = need_columns(frame, ("code_system", "code", "description"), "vocabulary table",
                   "the native vocabulary table is vocabulary(code_system, code, description)")
        texts = frame.select(*(F.col(vc[c]).cast("string").alias(c) for c in ("code_system", "code", "description")))
    return SparkSource("native", raw, people, texts, str(events) if isinstance(events, str | Path) else "")


def read_omop(spark: Any, tables: Mapping[str, Any], source_systems: Any = None, duplicate_concepts: str = "error") -> SparkSource:
    """OMOP CDM tables by lower-case name (``person``, ``condition_occurrence``, ..., optional ``concept``).

    ``source_systems``: the code systems of each table's source values (``--source-system``
    specs such as ``condition=ICD10CM,ICD9CM``, or a ``SourceSystems``); None: the defaults.
    ``duplicate_concepts``: a concept id CONCEPT lists more than once is refused (``error``),
    resolved to its first row by (vocabulary_id, concept_code) (``first``) or dropped, its
    events falling back to source values (``skip``), as in :mod:`ehrfeat.store.omop`.
    """
    from pyspark.sql import functions as F

    from ehrfeat.store.source_values import SourceSystems, parse_source_systems

    frames = {name.lower(): table(spark, ref, f"OMOP table {name}") for name, ref in tables.items()}
    if "person" not in frames:
        raise SchemaError("the OMOP tables lack person", fix="pass the person table too", code="E1606")
    person = frames["person"]
    pc = need_columns(person, ("person_id",), "OMOP person table", "load PERSON with its CDM columns")
    concept = frames.get("concept")
    if concept is not None:
        cc = need_columns(concept, ("concept_id", "vocabulary_id", "concept_code"), "OMOP concept table",
                   "load CONCEPT with the OMOP CDM columns")
        name_col = F.col(cc["concept_name"]).cast("string") if "concept_name" in cc else F.lit(None).cast("string")
        concept = concept.select(F.col(cc["concept_id"]).cast("long").alias("cid"), F.col(cc["vocabulary_id"]).cast("string").alias("voc"),
                                 F.col(cc["concept_code"]).cast("string").alias("ccode"), name_col.alias("cname"))
        concept, handled = one_row_per_concept(concept, duplicate_concepts, str(tables.get("concept", "concept")))
    else:
        check_duplicate_rule(duplicate_concepts)
        handled = {}
    parts = []
    for domain, logical in OMOP_DOMAIN_TABLES.items():
        if logical in frames:
            parts.append(_omop_domain(frames[logical], domain, logical, concept))
    if not parts:
        raise SchemaError("the OMOP tables hold no clinical table",
                          fix="pass at least one of " + ", ".join(OMOP_DOMAIN_TABLES.values()), code="E1606")
    events = parts[0]
    for part in parts[1:]:
        events = events.unionByName(part)
    people = person.select(F.col(pc["person_id"]).alias("patient_id")).where(F.col("patient_id").isNotNull())
    systems = source_systems if isinstance(source_systems, SourceSystems) or source_systems is None else parse_source_systems(source_systems)
    return SparkSource("omop", events, people, None, "omop", systems, handled)


def one_row_per_concept(concept: Any, rule: str, name: str) -> tuple[Any, dict[str, int]]:
    """CONCEPT frame ``(cid, voc, ccode, cname)`` with one row per id by ``rule``, and the ids it handled by reason.

    Counting the repeated ids is one small aggregate over CONCEPT (a vocabulary table, not the events).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from ehrfeat.store.omop_concept_table import RepeatedConcepts, repeated_concepts_error

    check_duplicate_rule(rule)
    groups = concept.groupBy("cid").count().where(F.col("count") > 1).select("cid").persist()
    try:
        repeated = RepeatedConcepts(groups.count(), tuple(int(r["cid"]) for r in groups.orderBy("cid").limit(5).collect()))
    finally:
        groups.unpersist()
    if not repeated.ids:
        return concept, {}
    if rule == "error":
        raise repeated_concepts_error(name, repeated)
    if rule == "first":
        rank = F.row_number().over(Window.partitionBy("cid").orderBy("voc", "ccode"))
        kept = concept.withColumn("ehrfeat_rank", rank).where(F.col("ehrfeat_rank") == 1).drop("ehrfeat_rank")
    else:  # the repeated ids found above, dropped
        kept = concept.join(groups, "cid", "left_anti")
    return kept, {repeated.reason(rule): repeated.ids}


def _omop_domain(frame: Any, domain: str, logical: str, concept: Any) -> Any:
    from pyspark.sql import functions as F

    concept_col, date_col = omop_event_columns(logical)
    cols = need_columns(frame, ("person_id", concept_col, date_col), f"OMOP table {logical}",
                 "load the table with the OMOP CDM 5.3/5.4 column names")
    source_col = concept_col.replace("_concept_id", "_source_concept_id")
    datetime_col = date_col.replace("_date", "_datetime")
    cid = F.col(cols[concept_col]).cast("long")
    scid = F.col(cols[source_col]).cast("long") if source_col in cols else None
    time = F.col(cols[date_col])
    if datetime_col in cols:
        dt_type = frame.schema[cols[datetime_col]].dataType.simpleString()
        d_type = frame.schema[cols[date_col]].dataType.simpleString()
        first = F.col(cols[datetime_col])
        time = F.coalesce(first, time) if dt_type == d_type else F.coalesce(first.cast("string"), time.cast("string"))
    value_col = concept_col.replace("_concept_id", "_source_value")
    source = F.col(cols[value_col]).cast("string") if value_col in cols else F.lit(None).cast("string")
    base = frame.select(F.col(cols["person_id"]).alias("patient_id"), time.alias("time"), cid.alias("c1"),
                        (scid if scid is not None else F.lit(None).cast("long")).alias("c2"), source.alias("source_value"))
    if concept is None:  # no CONCEPT: every row is keyed by its source value, as on one machine
        return base.select("patient_id", "time", F.lit(None).cast("string").alias("code_system"),
                           F.lit(None).cast("string").alias("code"), F.lit(domain).alias("domain"),
                           F.lit(None).cast("string").alias("text"), F.lit(True).alias("unmapped"), "source_value")
    k1 = concept.select(*(F.col(c).alias(f"{c}1") for c in concept.columns))
    k2 = concept.select(*(F.col(c).alias(f"{c}2") for c in concept.columns))
    joined = base.join(k1, (F.col("c1") == F.col("cid1")) & (F.col("c1") != 0), "left")
    joined = joined.join(k2, (F.col("c2") == F.col("cid2")) & (F.col("c2") != 0), "left")
    first = F.col("cid1").isNotNull()
    return joined.select(
        "patient_id", "time",
        F.when(first, F.col("voc1")).otherwise(F.col("voc2")).alias("code_system"),
        F.when(first, F.col("ccode1")).otherwise(F.col("ccode2")).alias("code"),
        F.lit(domain).alias("domain"),
        F.when(first, F.col("cname1")).otherwise(F.col("cname2")).alias("text"),
        (F.col("cid1").isNull() & F.col("cid2").isNull()).alias("unmapped"),
        "source_value",
    )


def read_meds(spark: Any, root: str | Path) -> SparkSource:
    """A MEDS dataset folder: ``data/**/*.parquet`` shards and optional ``metadata/codes.parquet``."""
    from pyspark.sql import functions as F

    folder = Path(root).expanduser()
    shards = sorted(str(p) for p in (folder / "data").rglob("*.parquet"))
    if not shards:
        raise InputError(f"{folder} holds no MEDS shards (data/**/*.parquet)", fix="give the MEDS dataset root folder",
                         code="E1607")
    frame = spark.read.parquet(*shards)
    cols = need_columns(frame, ("subject_id", "time", "code"), "MEDS data", "MEDS shards have subject_id, time, code")
    code = F.col(cols["code"]).cast("string")
    events = frame.select(F.col(cols["subject_id"]).alias("patient_id"), F.col(cols["time"]).alias("time"),
                          *_split_meds(code), F.lit(None).cast("string").alias("domain"),
                          F.lit(None).cast("string").alias("text"), F.lit(False).alias("unmapped"),
                          F.lit(None).cast("string").alias("source_value"))
    texts = None
    meta = folder / "metadata" / "codes.parquet"
    if meta.exists():
        codes = spark.read.parquet(str(meta))
        mc = column_names(codes)
        if "code" in mc and "description" in mc:
            texts = codes.select(*_split_meds(F.col(mc["code"]).cast("string")),
                                 F.col(mc["description"]).cast("string").alias("description"))
    return SparkSource("meds", events, None, texts, str(folder))


def _split_meds(code: Any) -> tuple[Any, Any]:
    """``SYSTEM/code`` -> (system, code); a code without ``/`` is in system ``MEDS``."""
    from pyspark.sql import functions as F

    has = F.instr(code, "/") > 0
    system = F.when(has, F.substring_index(code, "/", 1)).when(code.isNotNull(), F.lit(MEDS_DEFAULT_SYSTEM))
    rest = F.when(has, F.regexp_extract(code, r"^[^/]*/(.*)$", 1)).otherwise(code)
    return system.alias("code_system"), rest.alias("code")


def _find(folder: Path, name: str) -> Path | None:
    for entry in folder.iterdir():
        stem = entry.name.lower().removesuffix(".parquet")
        if stem == name and (entry.is_dir() or entry.suffix.lower() == ".parquet"):
            return entry
    return None


def read_source(spark: Any, source: Any, duplicate_concepts: str = "error") -> SparkSource:
    """Detect and read ``source``: a MEDS root, a folder of OMOP or native parquet tables, or a Spark database.

    ``duplicate_concepts``: the rule for concept ids an OMOP CONCEPT lists twice (see :func:`read_omop`).
    """
    if isinstance(source, SparkSource):
        return source
    if hasattr(source, "schema"):
        cols = column_names(source)
        if "subject_id" in cols:
            raise InputError("a MEDS DataFrame cannot be read directly", fix="give the MEDS root folder", code="E1607")
        return read_native(spark, source)
    path = Path(str(source)).expanduser()
    if path.is_dir():
        if (path / "data").is_dir():
            return read_meds(spark, path)
        found = {name: _find(path, name) for name in ("person", "concept", "events", "patients", "vocabulary",
                                                     *OMOP_DOMAIN_TABLES.values())}
        if found["person"] is not None and any(found[t] for t in OMOP_DOMAIN_TABLES.values()):
            return read_omop(spark, {k: str(v) for k, v in found.items()
                                     if v is not None and k in ("person", "concept", *OMOP_DOMAIN_TABLES.values())},
                             duplicate_concepts=duplicate_concepts)
        if found["events"] is not None:
            return read_native(spark, str(found["events"]), *(str(found[k]) if found[k] else None
                                                                for k in ("patients", "vocabulary")))
    elif not path.exists() and catalog_has(spark, "databaseExists", str(source)):
        names = {t.name.lower(): f"{source}.{t.name}" for t in spark.catalog.listTables(str(source))}
        if "person" in names:
            return read_omop(spark, {k: v for k, v in names.items() if k in ("person", "concept", *OMOP_DOMAIN_TABLES.values())},
                             duplicate_concepts=duplicate_concepts)
        if "events" in names:
            return read_native(spark, names["events"], names.get("patients"), names.get("vocabulary"))
    raise InputError(
        f"{source!r} is not a MEDS root, a folder of OMOP or native parquet tables, or a Spark database of them",
        fix="give a folder with events.parquet (native), person.parquet + condition_occurrence.parquet ... (OMOP), "
        "or data/*.parquet (MEDS)",
        code="E1608",
    )
