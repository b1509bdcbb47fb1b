from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ehrfeat.errors import InputError, ModelError
from ehrfeat.models import load_encoder
from ehrfeat.onnx import OnnxEncoder, choose_variant, read_manifest
from ehrfeat.onnx.providers import CPU, CUDA, check_session_providers, requested_providers

REPO = Path(__file__).resolve().parents[2]


def _copy(folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(folder, tmp_path / "copy"))


def test_best_variant_on_cpu_is_int8_and_fingerprint_is_its_sha(tiny_onnx: Path) -> None:
    encoder = OnnxEncoder(tiny_onnx, device="cpu")
    assert encoder.variant.precision == "int8" and encoder.provider == CPU
    assert encoder.fingerprint == encoder.variant.sha256 and len(encoder.fingerprint) == 64
    manifest = read_manifest(tiny_onnx)
    assert choose_variant(manifest, CUDA).name == "O2"  # no fp16 exported: fused fp32 on a GPU
    assert choose_variant(manifest, CPU, "fp32").file == "onnx/model.onnx"
    with pytest.raises(ModelError, match="no variant"):
        choose_variant(manifest, CPU, "fp16")


def test_duplicates_empty_and_overlong_texts_are_counted_not_dropped(tiny_onnx: Path) -> None:
    encoder = OnnxEncoder(tiny_onnx, variant="fp32", device="cpu")
    long_text = "diabetes " * 200
    texts = ["Asthma, unspecified", "", long_text, "Asthma, unspecified", "   "]
    out = encoder.encode(texts, batch_size=2)
    assert out.shape == (5, encoder.dim) and np.isfinite(out).all()
    np.testing.assert_array_equal(out[0], out[3])
    assert encoder.last_stats.texts == 5 and encoder.last_stats.unique == 4
    assert encoder.last_stats.empty == 2 and encoder.last_stats.truncated == 1
    np.testing.assert_allclose(out[2], encoder.encode(["diabetes " * 100])[0], atol=1e-5)  # both cut at max_length
    assert encoder.encode([]).shape == (0, encoder.dim)
    with pytest.raises(InputError):
        encoder.encode("one string")  # type: ignore[arg-type]


def test_encode_is_reentrant_calls_keep_their_state_apart(tiny_onnx: Path) -> None:
    """Per-call state lives in an EncodeCall, not on the encoder: concurrent and nested calls agree with lone ones."""
    from concurrent.futures import ThreadPoolExecutor

    encoder = OnnxEncoder(tiny_onnx, variant="fp32", device="cpu")
    groups = [[f"{term} {i}" for term in ("asthma", "chronic kidney disease stage 3", "fracture of left femur")] for i in range(8)]
    alone = [encoder.encode(g, batch_size=2) for g in groups]
    raw = encoder.encode(groups[0], normalize_embeddings=False)
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda g: encoder.encode(g, batch_size=2), groups))
        unnormalised = pool.submit(encoder.encode, groups[0], 64, False, False).result()
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(raw, unnormalised, atol=1e-6)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)  # the unnormalised call really ran unnormalised
    assert not hasattr(encoder, "_encodings")


def test_folder_without_manifest_says_how_to_fix(tiny_bert: Path) -> None:
    with pytest.raises(ModelError, match="ehrfeat export") as err:
        OnnxEncoder(tiny_bert)
    assert err.value.code == "E310"
    with pytest.raises(ModelError, match="E310"):
        load_encoder(tiny_bert, backend="onnx")


def test_corrupt_and_missing_onnx_files(tiny_onnx: Path, tmp_path: Path) -> None:
    folder = _copy(tiny_onnx, tmp_path)
    (folder / "onnx" / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="sha256") as err:
        OnnxEncoder(folder, variant="fp32")
    assert err.value.code == "E314"
    with pytest.raises(ModelError, match="corrupt") as err:
        OnnxEncoder(folder, variant="fp32", verify=False)
    assert err.value.code == "E317"
    (folder / "onnx" / "model_O2.onnx").unlink()
    with pytest.raises(ModelError, match="missing"):
        OnnxEncoder(folder, variant="O2")


def test_mismatched_tokenizer_is_refused(tiny_onnx: Path, tmp_path: Path) -> None:
    from ehrfeat.models.loader import bundled_minilm_path

    folder = _copy(tiny_onnx, tmp_path)
    shutil.copy2(bundled_minilm_path() / "tokenizer.json", folder / "tokenizer.json")
    with pytest.raises(ModelError, match="tokenizer") as err:
        OnnxEncoder(folder)
    assert err.value.code == "E316"
    with pytest.raises(ModelError, match="30522 tokens"):
        OnnxEncoder(folder, verify=False)


def test_requested_gpu_without_libraries_is_a_clear_error(tiny_onnx: Path) -> None:
    with pytest.raises(ModelError, match="CUDAExecutionProvider") as err:
        OnnxEncoder(tiny_onnx, device="cuda")
    assert "onnxruntime-gpu" in str(err.value)
    assert requested_providers("cpu") == [CPU]
    assert requested_providers("auto")[-1] == CPU


def test_no_silent_cpu_fallback() -> None:
    with pytest.raises(ModelError, match=r"fell back to the CPU[\s\S]*libcudnn|fell back to the CPU"):
        check_session_providers([CPU], [CUDA, CPU])
    assert check_session_providers([CPU], [CUDA, CPU], allow_cpu_fallback=True) == CPU
    assert check_session_providers([CUDA, CPU], [CUDA, CPU]) == CUDA


def test_load_encoder_picks_backend_by_folder(tiny_onnx: Path, tiny_bert: Path) -> None:
    assert type(load_encoder(tiny_onnx)).__name__ == "OnnxEncoder"
    assert type(load_encoder(tiny_bert)).__name__ == "TransformerEncoder"
    assert type(load_encoder(tiny_onnx, backend="torch")).__name__ == "TransformerEncoder"
    with pytest.raises(ModelError, match="backend"):
        load_encoder(tiny_onnx, backend="tf")


def test_runtime_imports_no_torch(tiny_onnx: Path) -> None:
    script = (
        "import sys, json\n"
        "from ehrfeat import load_encoder\n"
        f"e = load_encoder({str(tiny_onnx)!r})\n"
        "v = e.encode(['Asthma, unspecified', 'Heart failure'])\n"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'optimum') if m in sys.modules]\n"
        "print(json.dumps({'shape': list(v.shape), 'heavy': heavy, 'cls': type(e).__name__}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"shape": [2, 32], "heavy": [], "cls": "OnnxEncoder"}


def test_cpu_workers_run_batches_on_one_core_each_with_the_vectors_of_one_batch_at_a_time(tiny_onnx: Path) -> None:
    """parallelism='batches' (the default on the CPU): a one-thread session, ``threads`` batches at once."""
    texts = [f"{term} {i}" for i in range(40) for term in ("asthma", "chronic kidney disease stage 3", "left femur fracture")]
    batches = OnnxEncoder(tiny_onnx, variant="fp32", device="cpu", threads=3)
    intra_op = OnnxEncoder(tiny_onnx, variant="fp32", device="cpu", threads=3, parallelism="intra_op")
    assert (batches.workers, intra_op.workers) == (3, 1)
    assert batches.describe()["workers"] == 3

    def intra_op_threads(encoder: OnnxEncoder) -> int:
        return int(encoder.session.get_session_options().intra_op_num_threads)

    assert (intra_op_threads(batches), intra_op_threads(intra_op)) == (1, 3)
    np.testing.assert_allclose(batches.encode(texts, batch_size=8), intra_op.encode(texts, batch_size=8), atol=1e-6)
    assert batches.last_stats.unique == len(texts)
    with pytest.raises(ModelError, match="parallelism") as err:
        OnnxEncoder(tiny_onnx, device="cpu", parallelism="processes")
    assert err.value.code == "E341"


@pytest.mark.parametrize("setting", ["abc", "-1", "2.5"])
def test_a_bad_thread_count_names_the_setting_and_the_fix(tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    monkeypatch.setenv("EHRFEAT_THREADS", setting)
    with pytest.raises(ModelError, match=f"EHRFEAT_THREADS='{re.escape(setting)}'") as err:
        OnnxEncoder(tiny_onnx, device="cpu")
    assert err.value.code == "E342" and "unset it" in err.value.fix
    monkeypatch.setenv("EHRFEAT_THREADS", "0")  # 0: every core, as unset
    assert OnnxEncoder(tiny_onnx, device="cpu").workers == len(os.sched_getaffinity(0))
    with pytest.raises(ModelError, match="threads=-2"):
        OnnxEncoder(tiny_onnx, device="cpu", threads=-2)
