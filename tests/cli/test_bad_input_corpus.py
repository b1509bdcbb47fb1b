"""Every command on bad inputs: exit 0 with the bad rows counted, or exit 2 naming the input and the fix.

Each case is (command line, the files it is given, expected exit status, a phrase of the
output). Every case also asserts that no traceback reaches the user and that nothing the
user had before is changed: every file's bytes and every SQLite table's rows are the same
after the run (:func:`tests.cli.corpus_world.snapshot`); a run that exits 2 writes nothing
at all. Commands run in-process through typer's CliRunner.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from tests.cli import corpus_world as w

BAD_UTF8 = b"Kalium \xb5 mmol"
LONG_CODE = "X" * 200


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    exit: int
    phrase: str
    setup: w.Setup | None = None
    assets: tuple[str, ...] = ()  # prepared inputs copied in: emb (p.db with code embeddings), vec, idx
    env: dict[str, str] = field(default_factory=dict)
    absent: tuple[str, ...] = ()  # strings that must not appear in the output (secrets)


def c(args: str, exit: int, phrase: str, setup: w.Setup | None = None, assets: tuple[str, ...] = (), **kw: object) -> Case:
    return Case(tuple(args.split()), exit, phrase, setup, assets, **kw)  # type: ignore[arg-type]


NO_EVENTS_DB = w.sql("DROP TABLE events")
OTHER_DB = w.files({"p.db": b""})


def _other_tables(tmp: Path) -> None:
    con = sqlite3.connect(tmp / "p.db")
    con.execute("CREATE TABLE visits (id INTEGER)")
    con.commit()
    con.close()


CASES: dict[str, Case] = {
    # -- embed-codes ------------------------------------------------------------------------
    "embed/missing-db": c("embed-codes {tmp}/nope.db --model {model}", 2, "does not exist"),
    "embed/text-file-db": c("embed-codes {tmp}/notes.db --model {model}", 2, "notes.db", w.files({"notes.db": "hello\n"})),
    "embed/empty-file-db": c("embed-codes {tmp}/p.db --model {model}", 2, "p.db", OTHER_DB),
    "embed/db-is-a-folder": c("embed-codes {tmp}/user --model {model}", 2, "user", w.user_folder),
    "embed/unknown-schema": c("embed-codes {tmp}/p.db --model {model}", 2, "visits", _other_tables),
    "embed/no-events-table": c("embed-codes {tmp}/p.db --model {model}", 2, "events", w.both(w.native, lambda t: _drop(t, "events"))),
    "embed/missing-model": c("embed-codes {tmp}/p.db --model {tmp}/no-model", 2, "no-model", w.native),
    "embed/unknown-system": c("embed-codes {tmp}/p.db --model {model} --systems FOO", 2, "E1220", w.native),
    "embed/table-injection": c("embed-codes {tmp}/p.db --model {model} --table x;DROP", 2, "DROP", w.native),
    "embed/unknown-engine": c("embed-codes {tmp}/p.db --model {model} --engine foo", 2, "unknown engine", w.native),
    "embed/batch-size-0": c("embed-codes {tmp}/p.db --model {model} --batch-size 0", 2, "batch-size", w.native),
    "embed/out-under-a-file": c("embed-codes {tmp}/p.db --model {model} --out {tmp}/f/e.db", 2, "f", w.both(w.native, w.files({"f": "x"}))),
    "embed/report-user-file": c("embed-codes {tmp}/p.db --model {model} --report {tmp}/notes.json", 2, "E1204",
                                w.both(w.native, w.files({"notes.json": '{"mine": 1}'}))),
    "embed/report-is-a-folder": c("embed-codes {tmp}/p.db --model {model} --report {tmp}/user", 2, "user/report.json", w.both(w.native, w.user_folder)),
    "embed/bad-source-system": c("embed-codes {tmp}/p.db --model {model} --source-system condition", 2, "condition", w.native),
    "embed/bad-url-scheme": c("embed-codes foo://x/y --model {model}", 2, "foo://"),
    "embed/pg-unreachable-masks-password": c("embed-codes postgresql+psycopg://u:s3cr3t@127.0.0.1:9/db --model {model}", 2, "127.0.0.1",
                                             absent=("s3cr3t",)),
    "embed/bad-utf8-description": c("embed-codes {tmp}/p.db --model {model} --no-progress", 0, "not valid UTF-8",
                                    w.sql("INSERT INTO vocabulary VALUES ('ICD10CM', 'I50.9', CAST(X'4b616c69756d20b5' AS TEXT))")),
    "embed/over-long-code": c("embed-codes {tmp}/p.db --model {model} --no-progress", 0, "longer than",
                              w.sql(f"INSERT INTO events VALUES (1, '2020-01-01', 'LOCAL', '{LONG_CODE}', NULL)")),
    "embed/null-codes": c("embed-codes {tmp}/p.db --model {model} --no-progress", 0, "embedded now",
                          w.sql("INSERT INTO events VALUES (1, '2020-01-01', 'ICD10CM', '', NULL)")),
    # -- similar --------------------------------------------------------------------------------
    "similar/missing-db": c("similar E11.9 --db {tmp}/nope.db", 2, "does not exist"),
    "similar/no-embeddings": c("similar E11.9 --db {tmp}/p.db", 2, "embed-codes", w.native),
    "similar/unknown-code": c("similar Z99.89 --db {tmp}/p.db", 2, "Z99.89", assets=("emb",)),
    "similar/k-0": c("similar E11.9 --db {tmp}/p.db -k 0", 2, "-k", assets=("emb",)),
    "similar/missing-model": c("similar E11.9 --db {tmp}/p.db --model {tmp}/no-model", 2, "no-model", assets=("emb",)),
    "similar/unknown-system": c("similar E11.9 --db {tmp}/p.db --system FOO", 2, "FOO", assets=("emb",)),
    # -- import-omop -------------------------------------------------------------------------------
    "import/missing-source": c("import-omop {tmp}/nope {tmp}/o.db", 2, "nope"),
    "import/empty-folder": c("import-omop {tmp}/csv {tmp}/o.db", 2, "csv", w.files({"csv/README": "nothing"})),
    "import/corrupt-zip": c("import-omop {tmp}/cdm.zip {tmp}/o.db", 2, "cdm.zip", w.files({"cdm.zip": b"PK\x03\x04 not a zip"})),
    "import/db-and-to": c("import-omop {tmp}/csv {tmp}/o.db --to {tmp}/x.db", 2, "E1410", w.omop_csv()),
    "import/no-target": c("import-omop {tmp}/csv", 2, "E1410", w.omop_csv()),
    "import/target-is-text": c("import-omop {tmp}/csv {tmp}/notes.db", 2, "notes.db", w.both(w.omop_csv(), w.files({"notes.db": "hi"}))),
    "import/target-under-a-file": c("import-omop {tmp}/csv {tmp}/f/o.db", 2, "f", w.both(w.omop_csv(), w.files({"f": "x"}))),
    "import/bad-utf8-rows": c("import-omop {tmp}/csv {tmp}/o.db", 0, "non-UTF-8 bytes replaced",
                              w.omop_csv({"csv/CONDITION_OCCURRENCE.csv": w.CONDITIONS.encode() + b"3,2,320128,2020-02-01,32020,\xb5x\n"})),
    "import/nul-bytes": c("import-omop {tmp}/csv {tmp}/o.db", 0, "NUL bytes removed",
                          w.omop_csv({"csv/PERSON.csv": w.PERSON + "3,8507,19\x0080,0,0\n"})),
    "import/ragged-rows": c("import-omop {tmp}/csv {tmp}/o.db", 2, "PERSON.csv line 4",
                            w.omop_csv({"csv/PERSON.csv": w.PERSON + "3,8507\n4,8507,1980,0,0,extra,more\n"})),
    "import/header-only": c("import-omop {tmp}/csv {tmp}/o.db", 0, "imported", w.omop_csv({"csv/DEATH.csv": "person_id,death_date\n"})),
    "import/existing-tables": c("import-omop {tmp}/csv {tmp}/p.db", 2, "--replace",
                                w.both(w.omop_csv(), w.sql("CREATE TABLE person (person_id INTEGER)", "INSERT INTO person VALUES (9)"))),
    "import/unknown-driver": c("import-omop {tmp}/csv --to mysql://u:pw@127.0.0.1:9/x", 2, "mysql", w.omop_csv(), absent=(":pw@",)),
    "import/empty-csv-file": c("import-omop {tmp}/csv {tmp}/o.db", 2, "DEATH.csv is empty", w.omop_csv({"csv/DEATH.csv": ""})),
    # -- patient-vectors ---------------------------------------------------------------------------
    "vectors/no-embeddings": c("patient-vectors {tmp}/p.db --out {tmp}/v.parquet", 2, "embed-codes", w.native),
    "vectors/out-under-a-file": c("patient-vectors {tmp}/p.db --out {tmp}/f/v.parquet", 2, "f", w.files({"f": "x"}), ("emb",)),
    "vectors/out-unknown-format": c("patient-vectors {tmp}/p.db --out {tmp}/v.txt", 2, "v.txt", assets=("emb",)),
    "vectors/out-user-file": c("patient-vectors {tmp}/p.db --out {tmp}/mine.parquet", 2, "E1204", w.files({"mine.parquet": "precious"}),
                               ("emb",)),
    "vectors/out-user-sidecar": c("patient-vectors {tmp}/p.db --out {tmp}/v.npy", 2, "v.ids.csv", w.files({"v.ids.csv": "id,name\n1,x\n"}),
                                  ("emb",)),
    "vectors/out-is-a-folder": c("patient-vectors {tmp}/p.db --out {tmp}/user", 2, "user", w.user_folder, ("emb",)),
    "vectors/out-folder-missing": c("patient-vectors {tmp}/p.db --out {tmp}/nope/v.parquet", 2, "nope", assets=("emb",)),
    "vectors/bad-as-of": c("patient-vectors {tmp}/p.db --out {tmp}/v.parquet --as-of notadate", 2, "notadate", assets=("emb",)),
    "vectors/missing-as-of-table": c("patient-vectors {tmp}/p.db --out {tmp}/v.parquet --as-of-table cohort", 2, "cohort", assets=("emb",)),
    "vectors/bad-window": c("patient-vectors {tmp}/p.db --out {tmp}/v.parquet --window abc", 2, "abc", assets=("emb",)),
    "vectors/bad-weighting": c("patient-vectors {tmp}/p.db --out {tmp}/v.parquet --weighting foo", 2, "foo", assets=("emb",)),
    "vectors/bad-half-life": c("patient-vectors {tmp}/p.db --out {tmp}/v.parquet --weighting time-decay --half-life x", 2, "half",
                               assets=("emb",)),
    "vectors/bad-as-of-rule": c("patient-vectors {tmp}/p.db --out {tmp}/v.parquet --as-of 2021-01-01 --as-of-rule foo", 2, "foo",
                                assets=("emb",)),
    "vectors/bad-aggregate": c("patient-vectors {tmp}/p.db --out {tmp}/v.parquet --aggregate foo", 2, "foo", assets=("emb",)),
    "vectors/unknown-system": c("patient-vectors {tmp}/p.db --out {tmp}/v.parquet --systems FOO", 2, "FOO", assets=("emb",)),
    "vectors/bad-as-of-dates": c("patient-vectors {tmp}/p.db --out {tmp}/v.parquet --as-of-table cohort", 0, "written",
                                 w.sql("CREATE TABLE cohort (patient_id INTEGER, as_of TEXT)",
                                       "INSERT INTO cohort VALUES (1, '2021-01-01'), (2, 'soon'), (3, NULL)", base=lambda t: None),
                                 ("emb",)),
    "vectors/epoch-as-of": c("patient-vectors {tmp}/p.db --out {tmp}/v.parquet --as-of-table cohort", 0, "written",
                             w.sql("CREATE TABLE cohort (patient_id INTEGER, as_of INTEGER)",
                                   "INSERT INTO cohort VALUES (1, 1609459200), (2, 1609459200)", base=lambda t: None), ("emb",)),
    "vectors/bad-event-times": c("patient-vectors {tmp}/p.db --out {tmp}/v.parquet --as-of 2021-06-01", 0, "written",
                                 w.sql("INSERT INTO events VALUES (1, 'yesterday', 'ICD10CM', 'E11.9', NULL)", base=lambda t: None),
                                 ("emb",)),
    "vectors/bad-utf8-event-code": c("patient-vectors {tmp}/p.db --out {tmp}/v.parquet", 0, "not valid UTF-8",
                                     w.sql("INSERT INTO events VALUES (1, '2020-05-01', 'ICD10CM', CAST(X'4531312eb5' AS TEXT), NULL)",
                                           base=lambda t: None), ("emb",)),
    "vectors/bad-utf8-event-code-events-path": c("patient-vectors {tmp}/p.db --out {tmp}/v.parquet --aggregate events", 0,
                                                 "not valid UTF-8",
                                                 w.sql("INSERT INTO events VALUES (1, '2020-05-01', 'ICD10CM', CAST(X'4531312eb5' AS TEXT), NULL)",
                                                       base=lambda t: None), ("emb",)),
    # -- cluster ---------------------------------------------------------------------------------
    "cluster/missing-vectors": c("cluster {tmp}/v.parquet --report {tmp}/r", 2, "v.parquet"),
    "cluster/garbage-vectors": c("cluster {tmp}/v.parquet --report {tmp}/r", 2, "v.parquet", w.files({"v.parquet": "not parquet"})),
    "cluster/unknown-method": c("cluster {tmp}/vectors.parquet --report {tmp}/r --method foo", 2, "foo", assets=("vec",)),
    "cluster/k-1": c("cluster {tmp}/vectors.parquet --report {tmp}/r --k 1", 2, "k", assets=("vec",)),
    "cluster/report-user-folder": c("cluster {tmp}/vectors.parquet --report {tmp}/user", 2, "user", w.user_folder, ("vec",)),
    "cluster/k-above-patients": c("cluster {tmp}/vectors.parquet --report {tmp}/r --k 50", 2, "50", assets=("vec",)),
    "cluster/unknown-format": c("cluster {tmp}/v.csv --report {tmp}/r", 2, "v.csv", w.files({"v.csv": "a,b\n"})),
    # -- export ----------------------------------------------------------------------------------
    "export/missing-model": c("export {tmp}/no-model {tmp}/out", 2, "no-model"),
    "export/unknown-optimize": c("export {model} {tmp}/out --optimize O9", 2, "O9"),
    "export/unknown-quantize": c("export {model} {tmp}/out --quantize int4", 2, "int4"),
    "export/out-is-a-file": c("export {model} {tmp}/out", 2, "out", w.files({"out": "a file"})),
    "export/out-user-folder": c("export {model} {tmp}/user", 2, "user", w.user_folder),
    # -- doctor ----------------------------------------------------------------------------------
    "doctor/missing-model": c("doctor --model /missing", 2, "does not exist"),
    "doctor/unknown-device": c("doctor --device foo", 2, "unknown device"),
    "doctor/hub-id-offline": c("doctor --model someone/some-model", 2, "E1231", env={"HF_HUB_OFFLINE": "1"}),
    # -- build-index -----------------------------------------------------------------------------
    "index/user-folder": c("build-index {tmp}/user --model {model}", 2, "E1201", w.user_folder),
    "index/cwd-like-folder": c("build-index {tmp} --model {model}", 2, "E1201", w.native),
    "index/out-is-a-file": c("build-index {tmp}/f --model {model}", 2, "f", w.files({"f": "x"})),
    "index/unknown-system": c("build-index {tmp}/idx2 --model {model} --systems FOO", 2, "FOO"),
    "index/db-without-embeddings": c("build-index {tmp}/idx2 --model {model} --db {tmp}/p.db", 2, "embed-codes", w.native),
    "index/missing-model": c("build-index {tmp}/idx2 --model {tmp}/no-model", 2, "no-model"),
    "index/hub-id-offline": c("build-index {tmp}/idx2 --model someone/some-model", 2, "E1231", env={"HF_HUB_OFFLINE": "1"}),
    "index/under-a-file": c("build-index {tmp}/f/idx --model {model}", 2, "is a file", w.files({"f": "x"})),
    # -- link-notes ------------------------------------------------------------------------------
    "link/no-notes-table": c("link-notes {tmp}/p.db --model {model} --index {tmp}/idx", 2, "note", w.native, ("idx",)),
    "link/missing-index": c("link-notes {tmp}/p.db --model {model} --index {tmp}/nope", 2, "nope", w.with_notes(["diabetes"])),
    "link/tampered-index": c("link-notes {tmp}/p.db --model {model} --index {tmp}/idx", 2, "E173",
                             w.both(w.with_notes(["diabetes"]), w.files({"idx/index.json": "[]"})), ("idx",)),
    "link/index-of-other-encoder": c("link-notes {tmp}/p.db --model {bert} --index {tmp}/idx", 2, "E340", w.with_notes(["diabetes"]), ("idx",)),
    "link/unknown-negated": c("link-notes {tmp}/p.db --model {model} --index {tmp}/idx --negated foo", 2, "negated",
                              w.with_notes(["diabetes"]), ("idx",)),
    "link/missing-pipeline": c("link-notes {tmp}/p.db --pipeline {tmp}/nope", 2, "nope", w.with_notes(["diabetes"])),
    "link/max-note-chars-0": c("link-notes {tmp}/p.db --model {model} --index {tmp}/idx --max-note-chars 0", 2, "max-note-chars",
                               w.with_notes(["diabetes"]), ("idx",)),
    "link/bad-utf8-and-empty-notes": c("link-notes {tmp}/p.db --model {model} --index {tmp}/idx", 0, "not valid UTF-8",
                                       w.with_notes([b"type 2 diabetes \xb5", "", "   ", "hypertension"]), ("idx",)),
    "link/over-long-note": c("link-notes {tmp}/p.db --model {model} --index {tmp}/idx --max-note-chars 20", 0, "note longer than 20 characters",
                             w.with_notes(["diabetes mellitus. " * 10, "hypertension"]), ("idx",)),
    "link/missing-db": c("link-notes {tmp}/nope.db --model {model} --index {tmp}/idx", 2, "nope.db", assets=("idx",)),
    # -- train / evaluate -------------------------------------------------------------------------
    "train/missing-config": c("train {tmp}/nope.toml", 2, "nope"),
    "train/broken-toml": c("train {tmp}/c.toml", 2, "c.toml", w.files({"c.toml": "name = [broken"})),
    "train/unknown-key": c("train {tmp}/c.toml", 2, "c.toml", w.files({"c.toml": 'name = "x"\nbogus_key = 1\n'})),
    "train/output-is-a-file": c("train smoke --output {tmp}/f --max-steps 1", 2, "f", w.files({"f": "x"})),
    "train/output-user-folder": c("train smoke --output {tmp}/user --max-steps 1", 2, "user", w.user_folder),
    "evaluate/missing-model": c("evaluate {tmp}/no-model", 2, "no-model"),
    "evaluate/missing-config": c("evaluate {model} --config {tmp}/nope.toml", 2, "nope"),
}


def _drop(tmp: Path, table: str) -> None:
    con = sqlite3.connect(tmp / "p.db")
    con.execute(f"DROP TABLE {table}")
    con.commit()
    con.close()


@pytest.fixture(scope="module")
def assets(tiny_onnx: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Inputs made by ehrfeat itself: a database with code embeddings, its patient vectors, a linking index."""
    from ehrfeat.linking import build_index, save_index
    from ehrfeat.models import load_encoder
    from ehrfeat.vocab import Vocabulary

    root = tmp_path_factory.mktemp("corpus-assets")
    vocab = Vocabulary()
    vocab.add("ICD10CM", "E11.9", "Type 2 diabetes mellitus without complications", ["diabetes"])
    vocab.add("ICD10CM", "I10", "Essential (primary) hypertension", ["hypertension"])
    save_index(build_index(vocab, load_encoder(tiny_onnx), source="corpus"), root / "idx")
    w.native(root)
    runner = CliRunner()
    done = runner.invoke(app, ["embed-codes", str(root / "p.db"), "--model", str(tiny_onnx), "--no-progress"])
    assert done.exit_code == 0, done.output
    done = runner.invoke(app, ["patient-vectors", str(root / "p.db"), "--out", str(root / "vectors.parquet")])
    assert done.exit_code == 0, done.output
    return {"emb": root / "p.db", "vec": root / "vectors.parquet", "idx": root / "idx"}


_NAMES = {"emb": "p.db", "vec": "vectors.parquet", "idx": "idx"}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name: str, assets: dict[str, Path], tiny_onnx: Path, tiny_bert: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[name]
    tmp = tmp_path / "case"
    tmp.mkdir()
    for asset in case.assets:
        source, target = assets[asset], tmp / _NAMES[asset]
        shutil.copytree(source, target) if source.is_dir() else shutil.copy2(source, target)
    if case.setup is not None:
        case.setup(tmp)
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp)
    before = w.snapshot(tmp)
    args = [a.format(tmp=tmp, model=tiny_onnx, bert=tiny_bert) for a in case.args]
    try:
        result = CliRunner().invoke(app, args)
    finally:
        if (tmp / "ro").exists():
            (tmp / "ro").chmod(0o755)
    output = result.output
    assert "Traceback" not in output and not isinstance(result.exception, (AssertionError, KeyError)), output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{name}: uncaught {type(result.exception).__name__}: {result.exception}\n{output}")
    assert result.exit_code == case.exit, f"{name}: exit {result.exit_code}, expected {case.exit}\n{output}"
    assert case.phrase.lower() in output.lower(), f"{name}: {case.phrase!r} not in\n{output}"
    for secret in case.absent:
        assert secret not in output, f"{name}: {secret!r} printed"
    after = w.snapshot(tmp)
    changed = {k for k in before if after.get(k) != before[k]}
    assert not changed, f"{name}: changed {sorted(changed)}\n{output}"
    if case.exit == 2:
        created = set(after) - set(before)
        assert not created, f"{name}: a failed run wrote {sorted(created)}\n{output}"
        assert "Fix:" in output or "Usage:" in output or "Try " in output, f"{name}: no fix named\n{output}"
