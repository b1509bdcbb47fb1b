"""model.freeze_layers: the embeddings and the bottom layers keep the starting weights; the rest trains and resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ehrfeat.errors import ConfigError
from ehrfeat.training.config import TrainConfig, parse_config
from ehrfeat.training.loop import train


def _config(tiny_bert: Path, freeze: int, **model: object) -> TrainConfig:
    return parse_config({
        "name": "toy", "sources": [{"name": "toy", "reader": "icd10cm"}],
        "model": {"base": str(tiny_bert), "max_length": 16, "freeze_layers": freeze, **model},
        "training": {"lr": 1e-3, "batch_size": 16, "epochs": 2, "seed": 0, "save_every": 4, "distill_weight": 1.0},
        "pairs": {"heldout_fraction": 0.3},
    })


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def _layers(tiny_bert: Path) -> int:
    return int(json.loads((tiny_bert / "config.json").read_text())["num_hidden_layers"])


def test_frozen_layers_keep_the_base_weights_and_the_top_trains(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    assert _layers(tiny_bert) >= 2
    base = _weights(tiny_bert)
    run = _weights(train(_config(tiny_bert, 1), tmp_path / "run", sources=[toy_factory()], evaluate=False, progress=False))
    assert run.keys() == base.keys()
    frozen = [k for k in run if k.startswith(("embeddings.", "encoder.layer.0."))]
    trained = [k for k in run if k.startswith("encoder.layer.1.")]
    assert frozen and trained
    for key in frozen:
        torch.testing.assert_close(run[key], base[key], rtol=0, atol=0)
    moved = [k for k in trained if not torch.equal(run[k], base[k])]
    assert len(moved) == len(trained), f"layer 1 weights left at the base's: {sorted(set(trained) - set(moved))}"


def test_a_frozen_run_resumes_to_the_same_weights(tmp_path: Path, tiny_bert: Path, resumes_bit_equal) -> None:  # type: ignore[no-untyped-def]
    resumes_bit_equal(_config(tiny_bert, 1), tmp_path)


def test_resuming_with_other_frozen_layers_is_refused(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    train(_config(tiny_bert, 1), tmp_path / "b", sources=[toy_factory()], stop_after=5, evaluate=False, progress=False)
    with pytest.raises(ConfigError, match="freeze_layers") as err:
        train(_config(tiny_bert, 0), tmp_path / "b", sources=[toy_factory()], evaluate=False, progress=False)
    assert err.value.code == "E414"


def test_freezing_every_layer_is_refused_before_the_run_folder(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    layers = _layers(tiny_bert)
    for cfg, name in ((_config(tiny_bert, layers), "all"), (_config(tiny_bert, layers - 1, drop_layers=[0]), "after-drop")):
        with pytest.raises(ConfigError, match="freeze_layers") as err:
            train(cfg, tmp_path / name, sources=[toy_factory()], evaluate=False, progress=False)
        assert err.value.code == "E404"
        assert not (tmp_path / name).exists()


def test_negative_freeze_layers_is_a_config_error(tiny_bert: Path) -> None:
    with pytest.raises(ConfigError, match="freeze_layers must be >= 0") as err:
        _config(tiny_bert, -1)
    assert err.value.code == "E404"
