from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ehrfeat.cli import evaluate as evaluate_cli
from ehrfeat.cli import train as train_cli


def _app() -> typer.Typer:
    app = typer.Typer()
    train_cli.register(app)
    evaluate_cli.register(app)
    return app


@pytest.mark.slow
def test_train_then_evaluate(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "run"
    result = runner.invoke(_app(), ["train", "smoke", "-o", str(out), "--max-steps", "6", "--no-eval", "-q"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "ehrfeat_manifest.json").read_text())
    assert manifest["steps"] == 6 and manifest["config"]["training"]["max_steps"] == 6
    weights = (out / "model.safetensors").read_bytes()
    again = runner.invoke(_app(), ["train", "smoke", "-o", str(out), "--max-steps", "6", "--no-eval", "-q"])
    assert again.exit_code == 2 and "E432" in again.output and "finished run" in again.output, again.output
    assert (out / "model.safetensors").read_bytes() == weights
    result = runner.invoke(_app(), ["evaluate", str(out), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"base", "trained"} and data["trained"]["pairs"] > 0
    unseen = runner.invoke(_app(), ["evaluate", str(out), "--json", "--unseen-by", "smoke"])
    assert unseen.exit_code == 0, unseen.output
    assert 0 < json.loads(unseen.output)["trained"]["pairs"] <= data["trained"]["pairs"]
    table = runner.invoke(_app(), ["evaluate", str(out)])
    assert "auc_0v1" in table.output and "trained" in table.output and "delta" in table.output
    by_concept = runner.invoke(_app(), ["evaluate", str(out), "--json", "--bootstrap-by", "concept", "--resamples", "50"])
    assert by_concept.exit_code == 0, by_concept.output
    trained = json.loads(by_concept.output)["trained"]
    assert trained["bootstrap"]["unit"] == "concept" and set(trained["ci95"]) == set(data["trained"]["ci95"])


def test_errors_are_reported(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(_app(), ["train", str(tmp_path / "missing.toml")])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(_app(), ["evaluate", str(tmp_path)])
    assert result.exit_code == 2 and "--config" in result.output
    result = runner.invoke(_app(), ["evaluate", "minilm", "--bootstrap-by", "anchor"])
    assert result.exit_code == 2 and "--bootstrap-by" in result.output and "concept" in result.output
