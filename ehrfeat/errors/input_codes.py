"""Codes of :class:`~ehrfeat.errors.InputError`: codes, files, texts and values a user passes."""

from __future__ import annotations

from ehrfeat.errors import InputError
from ehrfeat.errors.entry import ErrorCode

__all__ = ["INPUT_CODES"]

_I = InputError

INPUT_CODES: tuple[ErrorCode, ...] = (
    # codes and systems
    ErrorCode("E101", _I, "A code system name is not valid.", "Use letters, digits, spaces, '-', '_' or '.', starting with a letter (e.g. ICD10CM).", ("codes",)),
    ErrorCode("E102", _I, "A code is empty or null.", "Drop the rows whose code is null or blank.", ("codes",)),
    ErrorCode("E103", _I, "A code is not a valid code of its system.", "Write the code in a form of its system (ICD-10-CM E11.9, ICD-9-CM 428.0, HPO HP:0001250).", ("codes",)),
    ErrorCode("E104", _I, "A concept of a vocabulary has an empty name.", "Give every concept a preferred term.", ("vocab.vocabulary",)),
    ErrorCode("E105", _I, "A size or count argument (batch, chunk, number of patients) is below 1.", "Pass a positive number; the message suggests one.", ("demo", "encoders.base", "patients.settings", "store.events", "store.omop_import")),
    ErrorCode("E106", _I, "An OMOP import source is not a folder or .zip of CSV files with one file per table.", "Give a folder of OMOP CSV files or a .zip of them, one file per table.", ("store.omop_csv_files",)),
    ErrorCode("E107", _I, "An OMOP CSV file is empty, repeats a column or has a line of the wrong width.", "Export the file with its header, one name per column, and check delimiters and quoting.", ("store.omop_csv_files", "store.omop_import")),
    ErrorCode("E108", _I, "A table or schema name is not a plain SQL identifier.", "Use letters, digits and '_', starting with a letter or '_' (at most 63 characters).", ("store.database",)),
    ErrorCode("E109", _I, "Texts to encode are not a list of strings.", "Pass a list of str: encode([text]); convert or drop missing values first.", ("encoders.base",)),
    # code embeddings, index and similar
    ErrorCode("E120", _I, "The embeddings table holds no embeddings of the requested encoder.", "Run `ehrfeat embed-codes` with that model first.", ("store.embeddings",)),
    ErrorCode("E121", _I, "The embeddings table holds no code embeddings.", "Run `ehrfeat embed-codes DB` first.", ("store.embeddings",)),
    ErrorCode("E122", _I, "The embeddings table holds embeddings of several encoders and none was chosen.", "Choose one with --model (or --fingerprint).", ("store.embeddings",)),
    ErrorCode("E123", _I, "The number of vectors does not match the number of codes.", "Pass one vector per code.", ("store.embeddings",)),
    ErrorCode("E124", _I, "The encoder returned non-finite values; nothing was written.", "Check the model (a broken export or fp16 overflow) and encode again.", ("store.embeddings",)),
    ErrorCode("E125", _I, "The number of neighbours k is below 1.", "Pass k >= 1.", ("index",)),
    ErrorCode("E126", _I, "The code has no embedding in the database.", "Check the code, or run `ehrfeat embed-codes` on the database first.", ("similar",)),
    ErrorCode("E127", _I, "The code exists in several code systems.", "Qualify it as SYSTEM:CODE or pass --system.", ("similar",)),
    ErrorCode("E128", _I, "A detected schema is of an unknown kind.", "Use detect_schema(engine) to describe the database.", ("store.backends",)),
    # patient vectors
    ErrorCode("E130", _I, "A duration (window, half-life) cannot be read or is not positive.", "Write a positive number and a unit: 365d, 26w, 12h, 1y.", ("patients.timing",)),
    ErrorCode("E131", _I, "An as-of date is empty or cannot be read.", "Use an ISO date such as 2020-01-01.", ("patients.timing",)),
    ErrorCode("E132", _I, "The weighting is unknown.", "Use one of the weightings the message lists.", ("patients.weight_types",)),
    ErrorCode("E133", _I, "Time-decay weighting was asked for without a half-life.", "Pass --half-life, e.g. 180d.", ("patients.weight_types",)),
    ErrorCode("E134", _I, "Patient ids are not sorted and unique.", "Pass sorted, unique patient ids.", ("patients.weights",)),
    ErrorCode("E135", _I, "No cached code embeddings (of the chosen systems) are in the database.", "Run `ehrfeat embed-codes DB` (with the same --systems) first.", ("patients.vectors",)),
    ErrorCode("E136", _I, "Both an as-of date and an as-of table were given.", "Drop --as-of or --as-of-table.", ("patients.as_of", "patients.settings")),
    ErrorCode("E137", _I, "The as-of table is not in the database.", "Create it with columns patient_id and as_of (or index_date).", ("patients.as_of",)),
    ErrorCode("E138", _I, "The as-of table lacks a patient_id or a date column.", "Rename the columns, or name the date column with --as-of-column.", ("patients.as_of",)),
    ErrorCode("E139", _I, "Too many code systems or domains for --by-system.", "Choose some with --systems.", ("patients.weights",)),
    ErrorCode("E140", _I, "The folder of an output file does not exist.", "Create the folder (mkdir -p) or write elsewhere.", ("patients.output",)),
    ErrorCode("E141", _I, "The format of a vectors file cannot be told from its name.", "End the file name with .parquet, .npy (plus an ids file) or .h5ad.", ("patients.output",)),
    ErrorCode("E142", _I, "AnnData output needs the anndata package.", "pip install 'ehrfeat[anndata]', or write .parquet.", ("patients.output",)),
    ErrorCode("E143", _I, "The vectors file does not exist.", "Write one with `ehrfeat patient-vectors DB --out FILE`.", ("patients.output",)),
    ErrorCode("E144", _I, "The vectors file is not a readable parquet file with a patient_id column.", "Write it with `ehrfeat patient-vectors`.", ("patients.output",)),
    ErrorCode("E145", _I, "A .npy vectors file has no ids file next to it.", "Keep the ids file written with it beside the .npy file.", ("patients.output",)),
    ErrorCode("E150", _I, "The clustering method is unknown.", "Use one of the methods the message lists.", ("patients.cluster",)),
    ErrorCode("E151", _I, "The number of clusters does not fit the number of patients.", "Choose 2 <= --k <= the number of patients.", ("patients.cluster",)),
    ErrorCode("E152", _I, "Agglomerative clustering of this many patients needs too much memory.", "Use --method kmeans or hdbscan, or fewer patients.", ("patients.cluster",)),
    ErrorCode("E153", _I, "UMAP is not installed.", "pip install 'ehrfeat[umap]', or use the PCA map.", ("patients.cluster",)),
    ErrorCode("E154", _I, "The report folder cannot be created.", "Choose a writable --report folder.", ("patients.report",)),
    ErrorCode("E160", _I, "X is not a list of patient ids or a DataFrame with patient_id.", "Pass ids or a DataFrame with patient_id (and as_of).", ("patients.sklearn_api",)),
    ErrorCode("E161", _I, "X has rows that cannot be used.", "Give integer patient ids and valid as-of dates.", ("patients.sklearn_api",)),
    ErrorCode("E162", _I, "A patient appears in X with two as-of dates.", "Give each patient one row; vectors at several dates need several calls.", ("patients.sklearn_api",)),
    ErrorCode("E1404", _I, "The embed-codes report file cannot be written.", "Give --report a file in a folder that exists and is writable.", ("embed_report",)),
    ErrorCode("E1405", _I, "--schema/--write-schema were given for a database without schemas (SQLite).", "Drop them, or give a PostgreSQL or DuckDB URL.", ("store.search_path",)),
    ErrorCode("E1407", _I, "A schema given to --schema/--write-schema does not exist.", "Check the name, or create it: CREATE SCHEMA name.", ("store.search_path",)),
    ErrorCode("E1410", _I, "import-omop got its target database twice or not at all.", "Give it once: as the DB argument or as --to.", ("cli.import_omop",)),
    ErrorCode("E1801", _I, "link-notes' negated mode is neither keep nor drop.", "Use --negated keep (write negated mentions with term_exists=N) or --negated drop.", ("linking.notes",)),
    ErrorCode("E1802", _I, "A line of an annotated-sentences file cannot be read.", "Write domain|text|mention=CODE:flags;... with each mention as it appears in the text.", ("evaluation.note_context",)),
    ErrorCode("E1901", _I, "The patient-vector aggregate mode is unknown.", "Use one of the modes the message lists.", ("patients.settings",)),
    ErrorCode("E1902", _I, "--aggregate database was asked for, but the database path cannot read this database.", "Use --aggregate events (or auto, which falls back by itself).", ("patients.vectors",)),
    ErrorCode("E1904", _I, "--aggregate counts was asked for, but this database cannot count (patient, code) pairs in SQL (SQLite, or a schema the database path cannot read).", "Use --aggregate database or auto (counts in SQL run on native PostgreSQL and DuckDB databases).", ("patients.vectors",)),
    # outputs and locks (issue 12)
    ErrorCode("E1726", _I, "Another ehrfeat train is writing to the training output folder (it holds the folder's lock); two runs into one folder would write over each other.", "Wait for that run to end (it resumes from its checkpoints if stopped), or train into another folder.", ("training.run_lock",)),
    ErrorCode("E1727", _I, "A checkpoint or the trained model cannot be written into the training output folder (disk full, file too large, read-only); the previous checkpoint is kept and the half-written one removed.", "Free space on the disk that holds the folder (or make it writable), then run the same command again: it resumes from the last checkpoint.", ("training.checkpoint",)),
    ErrorCode("E1201", _I, "An output folder is a file, or is not empty and was not written by this ehrfeat command; ehrfeat never deletes or overwrites what it did not create.", "Choose a new or empty folder (the message suggests one).", ("paths",)),
    ErrorCode("E1202", _I, "An output file or folder cannot be written (read-only place, or a file where a folder should be); found before any work starts.", "Choose a writable place for the output.", ("paths",)),
    ErrorCode("E1203", _I, "An output file path names a folder.", "Give a file name inside the folder.", ("paths",)),
    ErrorCode("E1204", _I, "An output file exists and is not one this ehrfeat command wrote (an earlier run's output is replaced; anything else is kept); found before any work starts.", "Choose a new file name; move the file away first if it may go.", ("paths",)),
    ErrorCode("E1220", _I, "A --systems name is not a code system of the database.", "Choose --systems among the systems the message lists.", ("embed",)),
    ErrorCode("E1221", _I, "The longest note to link (max_note_chars) is below 1.", "Pass --max-note-chars 1 or more, or leave it out (every note is linked; one over spaCy's 1,000,000 characters in windows).", ("linking.notes",)),
    ErrorCode("E1222", _I, "The OMOP CONCEPT table lists a concept id more than once, which would map events to the wrong code and count them twice.", "Choose a rule with --duplicate-concepts first|skip (counted in the summary), keep one row per concept_id (the message shows a DELETE), or re-import CONCEPT.csv with --replace.", ("store.omop_concept_table",)),
    ErrorCode("E1233", _I, "A --duplicate-concepts rule is unknown.", "Use error, first or skip.", ("store.schema",)),
    ErrorCode("E1212", _I, "EHRFEAT_LOCK_TIMEOUT is not a number of seconds.", "Set EHRFEAT_LOCK_TIMEOUT to a number of seconds, e.g. 600.", ("store.locks",)),
    # linking
    ErrorCode("E170", _I, "The vocabulary has no concepts of the wanted systems to index.", "Check the code systems (e.g. ICD10CM, HPO) and the vocabulary.", ("linking.code_index",)),
    ErrorCode("E171", _I, "The database given as a linking source holds no code embeddings.", "Run `ehrfeat embed-codes DB` or `ehrfeat build-index OUT_DIR` first.", ("linking.code_index",)),
    ErrorCode("E172", _I, "The folder is not a linking index.", "Build one with `ehrfeat build-index OUT_DIR`.", ("linking.code_index",)),
    ErrorCode("E173", _I, "The linking index cannot be read, is of another format or is inconsistent.", "Rebuild it with `ehrfeat build-index OUT_DIR`.", ("linking.code_index",)),
    ErrorCode("E174", _I, "The linking source has no code embeddings of the pipeline's encoder.", "Embed the codes with that model, or link with the model they were embedded with.", ("linking.sources",)),
    ErrorCode("E175", _I, "The database has no notes table.", "Load OMOP NOTE, or create and fill the native notes table.", ("linking.note_tables",)),
    ErrorCode("E176", _I, "The spaCy pipeline has no ehrfeat_linker component.", 'nlp.add_pipe("ehrfeat_linker")', ("linking.notes",)),
    ErrorCode("E177", _I, "per_mention or batch_size is below 1.", "Pass values >= 1.", ("linking.notes",)),
    ErrorCode("E178", _I, "The spaCy pipeline cannot be loaded.", "Give a folder written by nlp.to_disk.", ("linking.notes",)),
    # parity terms
    ErrorCode("E501", _I, "More parity terms were asked for than ICD-10-CM has.", "Ask for fewer parity terms.", ("onnx.parity",)),
    # MEDS datasets (issue 15)
    ErrorCode("E1506", _I, "A MEDS label table is missing, unreadable, or lacks subject_id/prediction_time of the right types.", "Give a parquet file or folder with subject_id int64, prediction_time timestamp and label columns (meds.LabelSchema).", ("store.meds.labels",)),
    ErrorCode("E1507", _I, "A code-vector parquet file is unreadable, not ehrfeat's, or holds another encoder's vectors.", "Write it with `ehrfeat embed-codes MEDS_DIR`; give another encoder its own --out file.", ("embed_meds", "patients.meds_vectors", "store.meds.code_vectors")),
    ErrorCode("E1508", _I, "No code vectors for the MEDS dataset (file missing or empty).", "Run `ehrfeat embed-codes MEDS_DIR` first (or pass --embeddings FILE).", ("patients.meds_vectors", "store.meds.code_vectors")),
    ErrorCode("E1509", _I, "The as-of rule is unknown.", "Use --as-of-rule strict or inclusive.", ("patients.as_of_rule", "patients.prediction_weights", "patients.settings")),
    ErrorCode("E1510", _I, "The folder of a MEDS output file does not exist.", "Create the folder (mkdir -p) or write elsewhere.", ("embed_meds", "patients.meds_vectors", "store.meds.code_vectors")),
    ErrorCode("E1511", _I, "The MEDS code style is unknown.", "Use mimic, meds_etl or mixed.", ("store.meds.write",)),
    ErrorCode("E1512", _I, "MEDS patient vectors were asked for in a format other than parquet.", "End --out with .parquet.", ("patients.meds_vectors",)),
    ErrorCode("E1513", _I, "The MEDS folder does not exist.", "Give the root of a MEDS dataset (the folder holding data/).", ("store.meds.dataset",)),
    ErrorCode("E1514", _I, "--as-of was given for a MEDS dataset.", "Pass prediction times as a label table: --as-of-table LABELS.parquet.", ("cli.patient_vectors",)),
    ErrorCode("E1515", _I, "The encoder returned non-finite values for MEDS codes; that batch was not written.", "Check the model (a broken export or fp16 overflow) and run again: finished batches are kept.", ("embed_meds",)),
    ErrorCode("E1516", _I, "Label rows given to the prediction-time accumulator are not sorted and unique.", "Build them with ehrfeat.store.meds.labels.from_arrays or read_labels.", ("patients.prediction_weights",)),
    ErrorCode("E1517", _I, "X given to PatientEmbedder on a MEDS dataset is not a DataFrame of subject_id and prediction_time rows.", "Pass a DataFrame with subject_id and prediction_time (e.g. a MEDS label table), without nulls.", ("patients.meds_rows",)),
    ErrorCode("E1518", _I, "The MEDS embed-codes report file cannot be written.", "Give --report a file in a folder that exists and is writable.", ("embed_meds",)),
)

