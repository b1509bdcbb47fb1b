from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ehrfeat.encoders.base import BatchedEncoder
from ehrfeat.evaluation import EvalSet, evaluate_encoder, format_report
from ehrfeat.evaluation.compare import evaluate_models


class TableEncoder(BatchedEncoder):
    """Vectors looked up in a dict: any Encoder works, no torch needed."""

    def __init__(self, table: dict[str, Sequence[float]]) -> None:
        self.table = table

    @property
    def fingerprint(self) -> str:
        return "table"

    @property
    def dim(self) -> int:
        return 2

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return np.array([self.table[t] for t in texts], dtype=np.float32)


EVAL = EvalSet(
    pairs=(("s", "a", "a2", 0), ("s", "a", "b", 1), ("s", "a", "c", 2), ("s", "a", "d", 3)),
    synonym_groups=(("a", "a2"), ("d", "d2")),
)
GOOD = {"a": (1, 0), "a2": (1, 0.05), "b": (1, 0.5), "c": (1, 1.5), "d": (0, 1), "d2": (0.1, 1)}
BAD = {"a": (1, 0), "a2": (0, 1), "b": (1, 1), "c": (1, 0.1), "d": (1, 0.01), "d2": (1, 0)}


def test_perfect_ordering_scores_one() -> None:
    m = evaluate_encoder(TableEncoder(GOOD), EVAL)
    for key in ("auc_0v1", "auc_0v2", "auc_0v3", "auc_1v2", "auc_1v3", "auc_2v3", "spearman", "syn_acc@1"):
        assert m[key] == pytest.approx(1.0), key
    assert m["pairs"] == 4 and m["synonym_queries"] == 2 and m["by_source"]["s"]["pairs"] == 4


def test_report_side_by_side_and_roundtrip(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    EVAL.save(tmp_path / "m" / "ehrfeat_heldout.json")
    assert EvalSet.load(tmp_path / "m" / "ehrfeat_heldout.json") == EVAL
    res = evaluate_models(tmp_path / "m", encoders={"base": TableEncoder(BAD), "trained": TableEncoder(GOOD)})
    assert res["trained"]["auc_0v1"] > res["base"]["auc_0v1"]
    table = format_report(res)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["model", "auc_0v1", "auc_0v2"]
    assert lines[2].startswith("base") and lines[3].startswith("trained") and lines[4].startswith("delta")
