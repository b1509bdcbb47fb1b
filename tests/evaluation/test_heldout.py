from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ehrfeat.encoders.base import BatchedEncoder, EncodeCall
from ehrfeat.evaluation import EvalSet, evaluate_encoder, format_report
from ehrfeat.training.compare import evaluate_models


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

    def _encode_batch(self, texts: list[str], call: EncodeCall) -> np.ndarray:
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
    assert lines[0].split() == ["metric", "base", "trained", "delta", "95%", "CI", "win"]
    assert lines[2].split()[0] == "auc_0v1" and lines[2].split()[3].startswith("+")
    # one pair per category: every resample is the same pair set, so the interval is the delta itself
    assert res["trained"]["ci95"]["auc_0v1"] == [pytest.approx(1.0), pytest.approx(1.0)]
    assert "s:auc_0v1" in res["trained"]["ci95"] and any(line.startswith("s:auc_0v1") for line in lines)


def test_linking_task_on_heldout_groups_only() -> None:
    from ehrfeat.evaluation import evaluate_linking
    from ehrfeat.evaluation.linking import build_linking_task
    from ehrfeat.vocab import Vocabulary
    from ehrfeat.vocab.splits import HeldOutSplit

    vocab = Vocabulary()
    vocab.add("HPO", "HP:0000001", "a", ["a2", "shared"])
    vocab.add("HPO", "HP:0000002", "d", ["d2", "shared", "a"])
    split = HeldOutSplit(1.0)
    task = build_linking_task("hpo", vocab, "HPO", split)
    assert sorted(task.queries) == [("a2", "HP:0000001"), ("d2", "HP:0000002")]
    assert task.skipped == {"string of two codes": 2, "same text as a preferred name": 1}
    assert build_linking_task("hpo", vocab, "HPO", HeldOutSplit(0.0)).queries == ()
    good = evaluate_linking(TableEncoder(GOOD), task)
    assert good["acc@1"] == 1.0 and good["queries"] == 2 and good["index"] == 2
    bad = evaluate_linking(TableEncoder({"a": (1, 0), "d": (0, 1), "a2": (0, 1), "d2": (1, 0)}), task)
    assert bad["acc@1"] == 0.0 and bad["acc@5"] == 1.0  # two names: the true one is always in the top 5


def test_linking_rows_in_report(tmp_path: Path) -> None:
    from ehrfeat.evaluation.linking import LinkingTask

    task = LinkingTask("hpo", "HPO", (("HP:0000001", "a"), ("HP:0000002", "d")), (("a2", "HP:0000001"), ("d2", "HP:0000002")))
    evalset = EvalSet(EVAL.pairs, EVAL.synonym_groups, (task,))
    (tmp_path / "m").mkdir()
    evalset.save(tmp_path / "m" / "ehrfeat_heldout.json")
    assert EvalSet.load(tmp_path / "m" / "ehrfeat_heldout.json") == evalset
    res = evaluate_models(tmp_path / "m", encoders={"base": TableEncoder(BAD), "trained": TableEncoder(GOOD)})
    assert res["trained"]["link_hpo@1"] == 1.0 and res["trained"]["linking"]["hpo"]["queries"] == 2
    table = format_report(res)
    assert "link_hpo@1" in table and "link_hpo@5" in table
    assert "| link_hpo@1 |" in format_report(res, markdown=True)


def test_shipped_model_name_finds_its_heldout_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ehrfeat.training.compare import load_evalset

    folder = tmp_path / "hiprbert-mini"
    folder.mkdir()
    (folder / "ehrfeat_onnx.json").write_text("{}")
    EVAL.save(folder / "ehrfeat_heldout.json")
    monkeypatch.setattr("ehrfeat.models.shipped_model_path", lambda name="hiprbert-mini": tmp_path / name)
    assert load_evalset("hiprbert-mini") == EVAL
