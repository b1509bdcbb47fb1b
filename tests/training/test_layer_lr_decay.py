"""training.layer_lr_decay: each layer trains at a fraction of the rate of the one above; resumes refuse other rates."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ehrfeat.errors import ConfigError
from ehrfeat.training.checkpoint import LAST_CHECKPOINT
from ehrfeat.training.config import TrainConfig, parse_config
from ehrfeat.training.loop import train
from ehrfeat.training.model import TermModel, freeze_layers, layerwise_lr_groups
from tests.helpers import snapshot


def _config(tiny_bert: Path, decay: float = 1.0, *, lr: float = 1e-3, freeze: int = 0) -> TrainConfig:
    return parse_config({
        "name": "toy", "sources": [{"name": "toy", "reader": "icd10cm"}],
        "model": {"base": str(tiny_bert), "max_length": 16, "freeze_layers": freeze},
        "training": {"lr": lr, "layer_lr_decay": decay, "batch_size": 16, "epochs": 2, "seed": 0, "save_every": 4},
        "pairs": {"heldout_fraction": 0.3},
    })


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def test_groups_hold_every_trainable_weight_once_at_its_layers_rate(tiny_bert: Path) -> None:
    model = TermModel(tiny_bert)
    layers = len(model.transformer.encoder.layer)
    groups = layerwise_lr_groups(model, 1e-3, 0.5)
    assert [g["lr"] for g in groups] == pytest.approx([1e-3 * 0.5**d for d in range(layers + 1)])
    grouped = [id(p) for g in groups for p in g["params"]]
    assert sorted(grouped) == sorted(id(p) for p in model.parameters())
    assert {id(p) for p in model.transformer.embeddings.parameters()} == {id(p) for p in groups[-1]["params"]}
    assert {id(p) for p in model.transformer.encoder.layer[0].parameters()} <= {id(p) for p in groups[-2]["params"]}
    top = {id(p) for p in groups[0]["params"]}
    assert {id(p) for p in model.transformer.encoder.layer[-1].parameters()} <= top


def test_frozen_weights_are_in_no_group_and_decay_one_is_one_group(tiny_bert: Path) -> None:
    model = TermModel(tiny_bert)
    assert [g["lr"] for g in layerwise_lr_groups(model, 2e-5, 1.0)] == [2e-5]
    freeze_layers(model, 1)
    groups = layerwise_lr_groups(model, 1e-3, 0.5)
    grouped = {id(p) for g in groups for p in g["params"]}
    assert grouped == {id(p) for p in model.parameters() if p.requires_grad}
    assert not grouped & {id(p) for p in model.transformer.encoder.layer[0].parameters()}


def test_lower_layers_move_less_than_without_decay(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    base = _weights(tiny_bert)

    def moved(run: dict[str, torch.Tensor], prefix: str) -> float:
        return max(float((run[k] - base[k]).abs().max()) for k in run if k.startswith(prefix))

    flat = _weights(train(_config(tiny_bert, 1.0), tmp_path / "flat", sources=[toy_factory()], evaluate=False, progress=False))
    decayed = _weights(train(_config(tiny_bert, 0.05), tmp_path / "decay", sources=[toy_factory()], evaluate=False, progress=False))
    # Adam's steps scale with the learning rate: the embeddings train at 0.05**layers of it, the bottom layer at 0.05**(layers-1)
    assert moved(decayed, "embeddings.") < 0.1 * moved(flat, "embeddings.")
    assert moved(decayed, "encoder.layer.0.") < 0.5 * moved(flat, "encoder.layer.0.")
    assert moved(decayed, "encoder.layer.0.") > 0.0


def test_a_decayed_run_resumes_to_the_same_weights(tmp_path: Path, tiny_bert: Path, resumes_bit_equal) -> None:  # type: ignore[no-untyped-def]
    resumes_bit_equal(_config(tiny_bert, 0.5), tmp_path)


@pytest.mark.parametrize(("first", "second"), [({"decay": 0.5}, {"decay": 0.7}), ({"decay": 0.5}, {"decay": 1.0}),
                                               ({"decay": 1.0, "lr": 1e-3}, {"decay": 1.0, "lr": 2e-3})])
def test_resuming_at_other_rates_is_refused(tmp_path: Path, tiny_bert: Path, toy_factory,  # type: ignore[no-untyped-def]
                                            first: dict, second: dict) -> None:  # type: ignore[type-arg]
    run = train(_config(tiny_bert, **first), tmp_path / "b", sources=[toy_factory()], stop_after=5, evaluate=False, progress=False)
    saved = snapshot(run / LAST_CHECKPOINT)
    with pytest.raises(ConfigError, match=r"learning rates") as err:
        train(_config(tiny_bert, **second), tmp_path / "b", sources=[toy_factory()], evaluate=False, progress=False)
    assert err.value.code == "E414"
    assert "layer_lr_decay" in str(err.value.fix)
    assert snapshot(run / LAST_CHECKPOINT) == saved  # the checkpoint is left as it was


@pytest.mark.parametrize("decay", [0.0, -0.5, 1.5])
def test_decay_outside_zero_to_one_is_a_config_error(tiny_bert: Path, decay: float) -> None:
    with pytest.raises(ConfigError, match="layer_lr_decay must be in") as err:
        _config(tiny_bert, decay)
    assert err.value.code == "E404"
