from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ehrfeat.errors import ConfigError, ModelError
from ehrfeat.training.config import parse_config
from ehrfeat.training.merge import interpolate_with_base
from ehrfeat.training.model import TermModel


def _shifted(base: Path, delta: float) -> TermModel:
    model = TermModel(base)
    with torch.no_grad():
        for p in model.transformer.parameters():
            p.add_(delta)
    return model


def test_weights_move_back_towards_the_base_by_hand(tiny_bert: Path) -> None:
    base = TermModel(tiny_bert).transformer.state_dict()
    model = _shifted(tiny_bert, 0.4)
    changed = interpolate_with_base(model, tiny_bert, 0.25)
    assert changed == len([t for t in base.values() if t.is_floating_point()])
    for name, tensor in model.transformer.named_parameters():
        torch.testing.assert_close(tensor, base[name] + 0.1, rtol=0, atol=1e-6)  # 0.25 * 0.4


def test_weight_one_changes_nothing_and_zero_gives_the_base(tiny_bert: Path) -> None:
    model = _shifted(tiny_bert, 0.4)
    before = {k: v.clone() for k, v in model.transformer.state_dict().items()}
    assert interpolate_with_base(model, tiny_bert, 1.0) == 0
    assert all(torch.equal(before[k], v) for k, v in model.transformer.state_dict().items())
    interpolate_with_base(model, tiny_bert, 0.0)
    base = TermModel(tiny_bert).transformer.state_dict()
    assert all(torch.allclose(base[k].float(), v.float(), atol=1e-6) for k, v in model.transformer.state_dict().items())
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        interpolate_with_base(model, tiny_bert, 1.5)


def test_another_architecture_is_refused(tiny_bert: Path, tmp_path: Path) -> None:
    from ehrfeat.training.tiny_model import make_tiny_bert

    other = make_tiny_bert(tmp_path / "wide", ["a term", "another term"], hidden=48, layers=2)
    with pytest.raises(ModelError) as err:
        interpolate_with_base(_shifted(tiny_bert, 0.1), other, 0.5)
    assert err.value.code == "E309"


def test_config_bounds() -> None:
    source = {"name": "icd", "reader": "icd10cm_slice"}
    assert parse_config({"sources": [source], "training": {"merge_with_base": 0.6}}).training.merge_with_base == 0.6
    with pytest.raises(ConfigError, match="merge_with_base"):
        parse_config({"sources": [source], "training": {"merge_with_base": 0}})
