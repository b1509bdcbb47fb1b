"""Codes of the Spark engine (issue 16: ``E16xx``): ehrfeat.spark and ``--engine spark``."""

from __future__ import annotations

from ehrfeat.errors import ConfigError, InputError, ModelError, SchemaError
from ehrfeat.errors.entry import ErrorCode

__all__ = ["SPARK_CODES"]

SPARK_CODES: tuple[ErrorCode, ...] = (
    ErrorCode("E1601", ConfigError, "The Spark engine was asked for but pyspark is not installed.", "pip install 'ehrfeat[spark]' (and Java 17).", ("spark.session",)),
    ErrorCode("E1602", ConfigError, "Spark could not start on the given master.", "Install Java 17 (openjdk-17-jre-headless) and check --master.", ("spark.session",)),
    ErrorCode("E1603", ConfigError, "The Spark session time zone is not UTC, so event times would shift.", "spark.conf.set('spark.sql.session.timeZone', 'UTC'), or start it with ehrfeat.spark.spark_session.", ("spark.session",)),
    ErrorCode("E1604", InputError, "The model folder to ship to the executors does not exist.", "Pass an existing model folder (--model).", ("spark.session",)),
    ErrorCode("E1605", InputError, "A table is neither a parquet path nor a table the Spark catalog knows.", "Pass a parquet file or folder, a Spark table name, or a DataFrame.", ("spark.source",)),
    ErrorCode("E1606", SchemaError, "A Spark table lacks a column (or table) its schema needs.", "Give the table the native, OMOP CDM or MEDS column names the message lists.", ("spark.readers", "spark.source")),
    ErrorCode("E1607", InputError, "A MEDS dataset has no shards, or was given as a DataFrame.", "Give the MEDS root folder (data/**/*.parquet).", ("spark.readers",)),
    ErrorCode("E1608", InputError, "A Spark source is not a MEDS root, a folder of OMOP or native parquet tables, or a Spark database.", "Give a folder with events.parquet, person.parquet and clinical tables, or data/*.parquet.", ("spark.readers",)),
    ErrorCode("E1609", InputError, "The Spark code-embedding table holds no embeddings of the chosen encoder, or several encoders and none was chosen.", "Run embed-codes --engine spark first, or choose one with --fingerprint.", ("spark.code_table",)),
    ErrorCode("E1610", InputError, "The Spark code-embedding table mixes dimensions or holds corrupt vectors.", "Delete that fingerprint's rows and embed again.", ("spark.code_table",)),
    ErrorCode("E1611", ModelError, "The model for Spark embedding is not an ONNX export.", "Export it with `ehrfeat export` first.", ("spark.embed",)),
    ErrorCode("E1612", ModelError, "An executor's copy of the model has another fingerprint than the driver's.", "Ship the same model folder to every executor.", ("spark.embed",)),
    ErrorCode("E1613", InputError, "The --engine value is unknown.", "Use --engine local or --engine spark.", ("cli.embed_codes", "cli.patient_vectors")),
    ErrorCode("E1614", InputError, "Spark patient vectors got both an as-of date and an as-of table.", "Drop --as-of or --as-of-table.", ("spark.cohort",)),
    ErrorCode("E1615", InputError, "The Spark as-of table lacks a patient id or a date column.", "Rename the columns, or name the date column with --as-of-column.", ("spark.cohort",)),
    ErrorCode("E1616", InputError, "The Spark code-embedding table has no vectors of the chosen systems.", "Run embed-codes --engine spark (with the same --systems) first.", ("spark.code_table",)),
    ErrorCode("E1617", ModelError, "The encoder returned non-finite values on an executor; nothing was written.", "Check the model (a broken export or fp16 overflow) and embed again.", ("spark.embed",)),
    ErrorCode("E1618", ConfigError, "Delta output was asked for but the delta-spark package is not installed.", "pip install delta-spark (a release whose pyspark range includes yours) with Maven reachable for its jars, or write parquet (--format parquet).", ("spark.output",)),
    ErrorCode("E1619", InputError, "The Spark output format is unknown, or cannot be written as asked (a Delta table as a single file, a single file over a folder).", "Use --format parquet or delta; --single-file with parquet only, onto a file path.", ("spark.output",)),
    ErrorCode("E1620", ConfigError, "The Spark session cannot write Delta: Delta Lake's jars (io.delta:delta-spark_<spark>_2.13) are not on its classpath, or could not be fetched from Maven.", "Make Maven reachable (spark.jars.packages, as delta-spark's configure_spark_with_delta_pip sets), pass the jars with spark.jars, use Databricks (Delta built in), or write parquet.", ("spark.output", "spark.session")),
    ErrorCode("E1621", InputError, "A Spark output path holds something ehrfeat did not write there (a folder of other files, a table of other columns, a Delta table where parquet was asked for or the reverse, or a single file where a code-embedding table is appended to); Spark would delete it or mix into it.", "Choose a new --out path, or the --format of what is there.", ("spark.targets",)),
)
