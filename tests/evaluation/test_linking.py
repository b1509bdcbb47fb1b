"""ehrfeat.evaluation.linking: a linking task built from held-out groups only, scored with any Encoder."""

from __future__ import annotations

from tests.eval_data import GOOD, TableEncoder


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
