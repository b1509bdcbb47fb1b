"""Codes of :class:`~ehrfeat.errors.DatabaseError` and :class:`~ehrfeat.errors.SchemaError`."""

from __future__ import annotations

from ehrfeat.errors import DatabaseError, SchemaError
from ehrfeat.errors.entry import ErrorCode

__all__ = ["DATABASE_CODES"]

_D = DatabaseError
_S = SchemaError

DATABASE_CODES: tuple[ErrorCode, ...] = (
    ErrorCode("E201", _D, "The database file, or the folder it should be created in, does not exist.", "Check the path, or create the folder.", ("store.database",)),
    ErrorCode("E202", _D, "The path is not a SQLite database (a folder, or a file without the SQLite header).", "Give the path of a SQLite database, or a SQLAlchemy URL.", ("store.database",)),
    ErrorCode("E203", _D, "The database file cannot be read (permissions or an OS error).", "Check the file and its permissions (chmod u+r FILE).", ("store.database",)),
    ErrorCode("E204", _D, "A database URL cannot be used: bad syntax or a driver that is not installed.", "Use a SQLAlchemy URL such as sqlite:///patients.db or postgresql+psycopg://user@host/db and install its driver.", ("store.database", "vocab.readers.athena_db")),
    ErrorCode("E205", _D, "The database cannot be read (corrupt, locked, or refused).", "Check that the database is complete, reachable and not locked by another program.", ("store.database", "vocab.readers.athena_db")),
    ErrorCode("E206", _D, "The OMOP tables to import into already exist and are not empty.", "Pass --replace (replace=True), or import into a new database.", ("store.omop_import",)),
    ErrorCode("E207", _D, "The demo database path holds a file that is not a demo database.", "Choose another path, or delete the file first.", ("demo",)),
    ErrorCode("E208", _D, "The embeddings table cannot be created.", "Check that the database is writable, or write to another database (--out).", ("store.embeddings",)),
    ErrorCode("E209", _D, "A stored embedding row is corrupt (its bytes do not match its dimension).", "Delete the rows of that fingerprint and run embed-codes again.", ("store.embeddings",)),
    ErrorCode("E1210", _D, "Another run held the database's write lock (SQLite) or the same job (PostgreSQL advisory lock) for longer than the lock timeout; nothing was written.", "Wait for the other run to finish and run again, or wait longer with EHRFEAT_LOCK_TIMEOUT=SECONDS.", ("store.locks",)),
    ErrorCode("E211", _S, "The database matches no supported schema (OMOP CDM 5.3/5.4 or ehrfeat's native schema).", "Import OMOP CSV files with `ehrfeat import-omop`, or create the native tables.", ("store.schema",)),
    ErrorCode("E212", _S, "A table of the native schema lacks a column.", "Create the native tables with the columns the message lists.", ("store.native", "store.schema")),
    ErrorCode("E213", _S, "An OMOP table lacks a CDM column.", "Load the table with the OMOP CDM 5.3/5.4 column names (e.g. with `ehrfeat import-omop`).", ("store.omop", "store.omop_concept_table", "store.schema")),
    ErrorCode("E214", _S, "The notes table lacks a column.", "Add the column the message names.", ("linking.note_tables",)),
    ErrorCode("E215", _S, "The NOTE_NLP table lacks OMOP CDM 5.4 columns.", "Use the OMOP CDM 5.4 NOTE_NLP columns.", ("linking.note_tables",)),
    ErrorCode("E216", _S, "The embeddings table exists but lacks columns.", "Write the embeddings to another table (--table) or another database (--out).", ("store.embeddings",)),
    ErrorCode("E217", _S, "A table holds a patient id that is not an integer.", "Store integer patient ids; for text ids add an integer key table and join through it.", ("store.records",)),
    # database servers (issue 14)
    ErrorCode("E1406", _D, "The schemas of the database server cannot be listed.", "Check that the server runs and the URL, user and password are right.", ("store.search_path",)),
    ErrorCode("E1409", _D, "The connection to the database server was refused or dropped during embed-codes or link-notes.", "Check that the server runs and is reachable, then run the same command again: committed batches are kept.", ("store.database",)),
    ErrorCode("E1408", _D, "ehrfeat's tables cannot be created where it would write them (a read-only CDM schema or database).", "Pass --write-schema SCHEMA (a schema you may create tables in, e.g. results) or --out URL.", ("store.search_path",)),
    ErrorCode("E1903", _D, "--create-indexes could not create the index on the events table.", "Make the database writable, or drop --create-indexes.", ("store.coded_events",)),
    # MEDS datasets (issue 15)
    ErrorCode("E1502", _S, "A folder meant as MEDS has no data/ folder or no .parquet shards.", "Give the MEDS root, the folder holding data/*.parquet and metadata/.", ("store.meds.dataset",)),
    ErrorCode("E1503", _S, "A MEDS shard or codes.parquet is not a readable parquet file.", "Remove the file from data/ or rewrite it as parquet.", ("store.meds.dataset",)),
    ErrorCode("E1504", _S, "A MEDS shard or codes.parquet lacks a column or has one of the wrong type.", "Cast the column to the MEDS schema's type (meds.DataSchema: subject_id int64, time timestamp[us], code string).", ("store.meds.columns", "store.meds.dataset")),
)
