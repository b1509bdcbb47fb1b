from __future__ import annotations

import json

import numpy as np
import pytest

from ehrfeat.encoders.pooling import pool, read_model_settings
from ehrfeat.errors import ModelError


def _folder(tmp_path, pooling_cfg=None, sbert=None, tokenizer=None, manifest=None):
    if pooling_cfg is not None:
        (tmp_path / "1_Pooling").mkdir()
        (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling_cfg))
    for name, data in (("sentence_bert_config.json", sbert), ("tokenizer_config.json", tokenizer), ("ehrfeat_manifest.json", manifest)):
        if data is not None:
            (tmp_path / name).write_text(json.dumps(data))
    return tmp_path


def test_old_boolean_pooling_config(tmp_path):
    folder = _folder(tmp_path, {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}, {"max_seq_length": 256})
    settings = read_model_settings(folder)
    assert (settings.pooling, settings.max_length) == ("cls", 256)


def test_sentence_transformers_5_string_pooling_and_tokenizer_length(tmp_path):
    folder = _folder(tmp_path, {"embedding_dimension": 384, "pooling_mode": "mean"}, {"transformer_task": "feature-extraction"}, {"model_max_length": 512})
    settings = read_model_settings(folder)
    assert (settings.pooling, settings.max_length) == ("mean", 512)


def test_manifest_wins(tmp_path):
    folder = _folder(tmp_path, {"pooling_mode": "mean"}, manifest={"pooling": "cls", "max_length": 25})
    assert read_model_settings(folder).pooling == "cls"
    assert read_model_settings(folder).max_length == 25


def test_unsupported_pooling_is_a_clear_error(tmp_path):
    folder = _folder(tmp_path, {"pooling_mode": "weightedmean"})
    with pytest.raises(ModelError, match="weightedmean"):
        read_model_settings(folder)


def test_defaults_without_config(tmp_path):
    settings = read_model_settings(tmp_path)
    assert (settings.pooling, settings.max_length) == ("mean", 128)


def test_pool_by_hand():
    tokens = np.array([[[1.0, 0.0], [3.0, 2.0], [9.0, 9.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    np.testing.assert_allclose(pool(tokens, mask, "mean"), [[2.0, 1.0]])
    np.testing.assert_allclose(pool(tokens, mask, "cls"), [[1.0, 0.0]])
    np.testing.assert_allclose(pool(tokens, mask, "max"), [[3.0, 2.0]])
