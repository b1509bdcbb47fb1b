"""A hub id while offline fails in seconds (exit 2); doctor refuses a missing model folder and an unknown device."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ehrfeat.errors import ModelError
from ehrfeat.models.hub import hub_access

HUB_ID = "ehrfeat-tests/no-such-model"


def _cli(args: list[str], env: dict[str, str], timeout: float = 40) -> tuple[subprocess.CompletedProcess[str], float]:
    full = {**os.environ, **env}
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c",
                          "from ehrfeat.cli.main import main; main()", *args],
                          capture_output=True, text=True, env=full, timeout=timeout)
    return done, time.monotonic() - start


@pytest.mark.parametrize(("env", "code"), [({"HF_HUB_OFFLINE": "1"}, "E1231"), ({"HF_ENDPOINT": "http://127.0.0.1:9"}, "E1232")])
def test_hub_id_offline_fails_fast(env: dict[str, str], code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    monkeypatch.delenv("ALL_PROXY", raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    if "HF_HUB_OFFLINE" not in env:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    with pytest.raises(ModelError) as info:
        hub_access(HUB_ID)
    assert info.value.code == code and HUB_ID in str(info.value) and "--model minilm" in str(info.value)


@pytest.mark.parametrize(("env", "code"), [({"HF_HUB_OFFLINE": "1"}, "E1231"), ({"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": ""}, "E1232")])
@pytest.mark.parametrize("command", ["build-index", "doctor"])
def test_cli_hub_id_offline_exits_2_in_seconds(env: dict[str, str], code: str, command: str, tmp_path: Path) -> None:
    args = ["build-index", str(tmp_path / "idx"), "--model", HUB_ID] if command == "build-index" else ["doctor", "--model", HUB_ID]
    done, seconds = _cli(args, {**env, "HTTPS_PROXY": "", "https_proxy": "", "ALL_PROXY": "", "all_proxy": ""})
    assert done.returncode == 2, done.stderr
    assert code in done.stderr and HUB_ID in done.stderr and "Traceback" not in done.stderr + done.stdout
    assert seconds < 30  # a connect timeout of 3 s, not transformers' retries (52 s); generous for a loaded machine
    assert not (tmp_path / "idx").exists()


@pytest.mark.parametrize(("args", "phrase"), [
    (["--model", "/missing/model"], "E305"),
    (["--model", "./no/such/folder"], "does not exist"),
    (["--device", "foo"], "E320"),
    (["--device", "GPU"], "auto, cpu, cuda, tensorrt"),
])
def test_doctor_refuses_bad_requests(args: list[str], phrase: str) -> None:
    from typer.testing import CliRunner

    from ehrfeat.cli.main import app

    result = CliRunner().invoke(app, ["doctor", *args])
    assert result.exit_code == 2, result.output
    assert phrase in result.output and "Traceback" not in result.output


def test_doctor_model_that_is_a_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ehrfeat.cli.main import app

    path = tmp_path / "model.onnx"
    path.write_text("x")
    result = CliRunner().invoke(app, ["doctor", "--model", str(path)])
    assert result.exit_code == 2 and "is a file" in result.output
