"""Lay-mention tasks: held-out concepts only, no training string as a query, old held-out files still load."""

from __future__ import annotations

import json
from pathlib import Path

from ehrfeat.evaluation import EvalSet, evaluate_encoder
from ehrfeat.evaluation.lay import build_lay_task, training_strings
from ehrfeat.evaluation.linking import LinkingTask
from ehrfeat.vocab import Vocabulary
from ehrfeat.vocab.readers.obo import typed_synonyms
from ehrfeat.vocab.splits import HeldOutSplit
from tests.evaluation.test_heldout import EVAL, GOOD, TableEncoder

OBO = """format-version: 1.2
synonymtypedef: layperson "layperson term"

[Term]
id: HP:0000001
name: Macrocephaly
synonym: "Big head" EXACT layperson []
synonym: "Large head" EXACT layperson []
synonym: "Megacephaly" EXACT []
synonym: "Large skull" RELATED layperson []

[Term]
id: HP:0000002
name: Old term
is_obsolete: true
synonym: "Gone" EXACT layperson []
"""


def test_typed_synonyms_reads_only_the_type_and_scope_asked(tmp_path: Path) -> None:
    path = tmp_path / "hp.obo"
    path.write_text(OBO)
    assert typed_synonyms(path, "layperson") == {"HP:0000001": ["Big head", "Large head"]}


def test_lay_task_keeps_heldout_concepts_and_skips_training_strings() -> None:
    held, trained = HeldOutSplit(1.0), HeldOutSplit(0.0)
    concepts = [("HP:1", "Macrocephaly", ["Big head", "Large head", "Shared"]), ("HP:2", "Microcephaly", ["Small head", "Shared", "Macrocephaly"])]
    task = build_lay_task("hpo", "HPO", concepts, held, {"large head"})
    assert task.names == (("HP:1", "Macrocephaly"), ("HP:2", "Microcephaly"))
    assert sorted(task.queries) == [("Big head", "HP:1"), ("Small head", "HP:2")]
    assert task.skipped == {"a training string": 1, "string of two codes": 2, "same text as a preferred name": 1}
    assert build_lay_task("hpo", "HPO", concepts, trained, set()).queries == ()  # nothing held out: no task


def test_training_strings_are_those_of_concepts_not_held_out() -> None:
    vocab = Vocabulary()
    vocab.add("HPO", "HP:0000001", "Macrocephaly", ["Big head"])
    assert training_strings([vocab], HeldOutSplit(0.0)) == {"macrocephaly", "big head"}
    assert training_strings([vocab], HeldOutSplit(1.0)) == set()


def test_lay_rows_scored_and_saved_old_files_still_load(tmp_path: Path) -> None:
    task = LinkingTask("hpo", "HPO", (("HP:1", "a"), ("HP:2", "d")), (("a2", "HP:1"), ("d2", "HP:2")))
    evalset = EvalSet(EVAL.pairs, EVAL.synonym_groups, (), (task,))
    metrics = evaluate_encoder(TableEncoder(GOOD), evalset)
    assert metrics["lay_hpo@1"] == 1.0 and metrics["lay_hpo@3"] == 1.0 and metrics["lay"]["hpo"]["queries"] == 2
    evalset.save(tmp_path / "new.json")
    assert EvalSet.load(tmp_path / "new.json") == evalset
    old = {"pairs": EVAL.pairs, "synonym_groups": EVAL.synonym_groups, "linking": []}  # a file written before lay rows
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert EvalSet.load(tmp_path / "old.json") == EVAL
    assert "lay" not in json.loads((tmp_path / "old.json").read_text())
