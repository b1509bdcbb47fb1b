"""benchmarks/output_mix.py: the mixture's cosine is the weighted sum of the two models' cosines."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from types import ModuleType

import numpy as np
import pytest

from tests.helpers import script_module


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return script_module("benchmarks", "output_mix")


class Hashed:
    """A stand-in encoder: a fixed random unit vector per text (seeded by the text and a salt)."""

    def __init__(self, salt: int, dim: int) -> None:
        self.salt, self.dim, self.fingerprint = salt, dim, f"hashed-{salt}"

    def encode(self, texts: Sequence[str], batch_size: int = 64, show_progress_bar: bool = False, normalize_embeddings: bool = True) -> np.ndarray:
        rows = [np.random.default_rng([self.salt, zlib.crc32(t.encode())]).normal(size=self.dim) for t in texts]
        v = np.array(rows, dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("w", [0.0, 0.3, 0.5, 1.0])
def test_cosine_is_the_weighted_sum_of_the_two_cosines(script: ModuleType, w: float) -> None:
    base, trained = Hashed(1, 8), Hashed(2, 5)
    texts = ["type 2 diabetes", "diabetes mellitus", "fracture of femur", "asthma"]
    mix = script.OutputMix([base, trained], [w, 1 - w]).encode(texts)
    assert mix.shape == (4, 13) and mix.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(mix, axis=1), 1.0, rtol=1e-6)
    b, t = base.encode(texts), trained.encode(texts)
    np.testing.assert_allclose(mix @ mix.T, w * (b @ b.T) + (1 - w) * (t @ t.T), atol=1e-6)


@pytest.mark.parametrize("weights", [[0.5, 0.6], [-0.1, 1.1], [1.0]])
def test_weights_must_be_one_per_encoder_and_sum_to_one(script: ModuleType, weights: list[float]) -> None:
    with pytest.raises(ValueError, match="summing to 1"):
        script.OutputMix([Hashed(1, 4), Hashed(2, 4)], weights)


@pytest.mark.parametrize("w", ["1.5", "-0.2"])
def test_a_base_weight_outside_zero_to_one_is_exit_2_before_any_model_loads(script: ModuleType, w: str, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as done:
        script.main(["--base-weight", w, "--model", "/no/such/model"])
    assert done.value.code == 2
    assert f"--base-weight {float(w)}" in capsys.readouterr().err
