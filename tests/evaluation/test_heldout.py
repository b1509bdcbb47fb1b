"""ehrfeat.evaluation.heldout: pair AUCs, Spearman and synonym accuracy of any Encoder on a held-out set."""

from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.evaluation import EvalSet, evaluate_encoder
from ehrfeat.evaluation.heldout import encoder_label
from tests.eval_data import BAD, EVAL, GOOD, TableEncoder


def test_perfect_ordering_scores_one() -> None:
    m = evaluate_encoder(TableEncoder(GOOD), EVAL)
    for key in ("auc_0v1", "auc_0v2", "auc_0v3", "auc_1v2", "auc_1v3", "auc_2v3", "spearman", "syn_acc@1"):
        assert m[key] == pytest.approx(1.0), key
    assert m["pairs"] == 4 and m["synonym_queries"] == 2 and m["by_source"]["s"]["pairs"] == 4


def test_metrics_name_the_encoder_that_ran() -> None:
    assert evaluate_encoder(TableEncoder(GOOD), EVAL)["encoder"] == "TableEncoder"


def test_an_int8_encoder_is_named_with_its_preset_cpu_target_and_weight_type(tiny_onnx: Path) -> None:
    from ehrfeat.onnx.runtime import OnnxEncoder

    encoder = OnnxEncoder(tiny_onnx, variant="int8", device="cpu")
    q = encoder.variant.quantization
    assert q is not None
    assert encoder_label(encoder) == f"ONNX int8 ({q['preset']}, {q['target']}, {q['weight_type']} weights)"
    assert encoder_label(OnnxEncoder(tiny_onnx, variant="fp32", device="cpu")) == "ONNX fp32"


def test_tasks_on_the_same_names_encode_them_once_and_score_as_alone() -> None:
    from dataclasses import replace

    from ehrfeat.evaluation.linking import LinkingTask, linking_hits

    table = {**GOOD, "a mention": (1, 0.1), "d mention": (0.05, 1)}
    link = LinkingTask("t", "S", (("A", "a"), ("D", "d")), (("a mention", "A"), ("d2", "D")))
    lay = LinkingTask("l", "S", (("A", "a"), ("D", "d")), (("d mention", "D"),))  # the same names as `link`
    evalset = replace(EVAL, linking=(link,), lay=(lay,))
    encoded: list[str] = []

    class Counting(TableEncoder):
        def _encode_batch(self, texts: list[str], call):  # type: ignore[no-untyped-def]
            encoded.extend(texts)
            return super()._encode_batch(texts, call)

    m = evaluate_encoder(Counting(table), evalset)
    pair_strings = len(EVAL.texts())
    assert len(encoded) == pair_strings + 2 + 2 + 1  # the pairs' strings, the names once, each task's queries
    assert m["link_t@1"] == linking_hits(TableEncoder(table), link)[1].mean() == 1.0
    assert m["lay_l@1"] == linking_hits(TableEncoder(table), lay, ks=(1,))[1].mean() == 1.0
    assert m["linking"]["t"]["queries"] == 2 and m["lay"]["l"]["index"] == 2


def test_unseen_keeps_only_what_training_never_saw() -> None:
    from ehrfeat.evaluation.heldout import UNSEEN_REASON
    from ehrfeat.evaluation.linking import LinkingTask

    task = LinkingTask("mesh", "MeSH", (("D1", "Kuru"), ("D2", "Melioidosis")), (("Encephalopathy, Kuru", "D1"), ("Whitmore disease", "D2")),
                       {"a training string": 3})
    evalset = EvalSet(
        pairs=(("s", "A", "a2", 0), ("s", "d", "A", 1), ("s", "c", "b", 3)),
        synonym_groups=(("A", "a2", "a3"), ("d", "b2"), ("c", "C2"), ("e", "C2", "e3")),
        linking=(task,), lay=(task,),
    )
    seen = evalset.unseen(frozenset({"a", "b", "c2", "whitmore disease"}))  # case-folded training texts
    assert seen.pairs == (("s", "d", "A", 1), ("s", "c", "b", 3))  # a pair goes with its anchor, the held-out concept
    assert seen.synonym_groups == (("d", "b2"), ("e", "e3"))  # trained preferred term: the group goes; else its trained strings
    for t in (*seen.linking, *seen.lay):
        assert t.queries == (("Encephalopathy, Kuru", "D1"),) and t.names == task.names
        assert t.skipped == {"a training string": 3, UNSEEN_REASON: 1}
    assert evalset.unseen(frozenset()) == evalset  # nothing trained: nothing goes, no count added


def test_items_carry_their_concepts_for_the_bootstrap_by_concept() -> None:
    from dataclasses import replace

    from ehrfeat.evaluation import BootstrapSettings, compare_encoders, format_report, score_encoder
    from ehrfeat.evaluation.linking import LinkingTask

    table = {**GOOD, "a mention": (1, 0.1), "d mention": (0.05, 1), "d other": (0, 1)}
    lay = LinkingTask("l", "S", (("A", "a"), ("D", "d")), (("a mention", "A"), ("d mention", "D"), ("d other", "D")))
    evalset = replace(EVAL, pairs=(*EVAL.pairs, ("t", "b", "c", 1)), lay=(lay,))
    _, items = score_encoder(TableEncoder(table), evalset)
    assert items.pair_concepts.tolist() == ["a", "a", "a", "a", "b"]  # a pair's anchor
    assert items.hit_concepts["syn_acc@1"].tolist() == [0, 1]  # a synonym query's group
    assert items.hit_concepts["lay_l@3"].tolist() == ["A", "D", "D"]  # a lay query's true code
    results = compare_encoders({"base": TableEncoder(BAD | table), "trained": TableEncoder(table)}, evalset,
                               bootstrap=BootstrapSettings(resamples=50, unit="concept"))
    assert results["trained"]["bootstrap"]["unit"] == "concept" and "lay_l@1" in results["trained"]["ci95"]
    assert "paired bootstrap, by concept, 50 resamples" in format_report(results, markdown=True)
