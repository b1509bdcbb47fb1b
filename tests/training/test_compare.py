"""ehrfeat.training.compare: models side by side on a held-out set, with linking rows, found by model name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ehrfeat.evaluation import EvalSet, format_report
from ehrfeat.training.compare import evaluate_models
from tests.eval_data import BAD, EVAL, GOOD, TableEncoder


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
    assert lines[-1].endswith("; encoders: base: TableEncoder, trained: TableEncoder)")


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


@pytest.mark.parametrize(("make", "why"), [
    (lambda p: p.mkdir(), "to evaluate on$"),
    (lambda p: p.write_text("x"), r"\(it is a file\)$"),
    (lambda p: None, r"\(no such folder here\)$"),
])
def test_a_model_without_heldout_groups_is_refused_saying_why(tmp_path: Path, make, why) -> None:
    from ehrfeat.errors import ConfigError

    make(tmp_path / "m")
    with pytest.raises(ConfigError) as raised:
        evaluate_models(tmp_path / "m", encoders={"base": TableEncoder(BAD), "trained": TableEncoder(GOOD)})
    assert re.search(why, raised.value.message), raised.value.message
    assert raised.value.code == "E415" and "--config" in (raised.value.fix or "")


def test_unseen_by_scores_only_items_the_recipes_training_never_saw(tmp_path: Path) -> None:
    from ehrfeat.training.compare import training_texts

    trained = training_texts("smoke")
    assert "type 2 diabetes mellitus" in trained and all(t == t.casefold() for t in trained)
    name = "Type 2 diabetes mellitus"  # a training text of smoke: as a held-out anchor it leaks
    leaky = EvalSet((("s", name, "a2", 0), *EVAL.pairs), EVAL.synonym_groups)
    (tmp_path / "m").mkdir()
    leaky.save(tmp_path / "m" / "ehrfeat_heldout.json")
    table = {**GOOD, name: (0, 1)}
    encoders = {"base": TableEncoder(BAD | {name: (1, 0)}), "trained": TableEncoder(table)}
    every = evaluate_models(tmp_path / "m", encoders=encoders)
    unseen = evaluate_models(tmp_path / "m", encoders=encoders, unseen_by="smoke")
    assert every["trained"]["pairs"] == 5 and unseen["trained"]["pairs"] == 4
    assert unseen["trained"]["auc_0v1"] == 1.0 > every["trained"]["auc_0v1"]
