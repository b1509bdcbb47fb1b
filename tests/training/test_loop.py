from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from ehrfeat.errors import ConfigError
from ehrfeat.training.checkpoint import LAST_CHECKPOINT, MANIFEST
from ehrfeat.training.config import TrainConfig, parse_config
from ehrfeat.training.loop import train
from tests.helpers import snapshot


def _config(base: Path, **training: object) -> TrainConfig:
    return parse_config({
        "name": "toy",
        "sources": [{"name": "toy", "reader": "icd10cm"}],
        "model": {"base": str(base), "pooling": "mean", "max_length": 16},
        "training": {"lr": 1e-3, "batch_size": 16, "epochs": 2, "seed": 0, "save_every": 4, **training},
        "pairs": {"heldout_fraction": 0.3},
    })


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    cfg = _config(tiny_bert)
    straight = train(cfg, tmp_path / "a", sources=[toy_factory()], evaluate=False, progress=False)
    stopped = train(cfg, tmp_path / "b", sources=[toy_factory()], stop_after=5, evaluate=False, progress=False)
    assert (stopped / LAST_CHECKPOINT / "trainer_state.pt").is_file()
    assert not (stopped / "model.safetensors").exists()
    state = torch.load(stopped / LAST_CHECKPOINT / "trainer_state.pt", weights_only=True)
    assert state["step"] == 5 and state["scheduler"]["last_epoch"] == 5
    resumed = train(cfg, tmp_path / "b", sources=[toy_factory()], evaluate=False, progress=False)
    assert not (resumed / LAST_CHECKPOINT).exists()
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    base = _weights(tiny_bert)
    assert any(not torch.equal(a[k], base[k]) for k in a)  # it did train


def test_resume_with_another_plan_is_refused(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    train(_config(tiny_bert), tmp_path, sources=[toy_factory()], stop_after=2, evaluate=False, progress=False)
    with pytest.raises(ConfigError, match="belongs to a run"):
        train(_config(tiny_bert, epochs=3), tmp_path, sources=[toy_factory()], evaluate=False, progress=False)


def test_a_finished_run_is_never_trained_over(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    run = train(_config(tiny_bert), tmp_path / "run", sources=[toy_factory()], evaluate=False, progress=False)
    before = snapshot(run)
    for cfg in (_config(tiny_bert), _config(tiny_bert, epochs=3)):  # the same recipe again, or another one
        with pytest.raises(ConfigError, match="holds a finished run") as err:
            train(cfg, run, sources=[toy_factory()], evaluate=False, progress=False)
        assert err.value.code == "E432" and "another output folder" in str(err.value.fix)
    assert snapshot(run) == before
    stopped = train(_config(tiny_bert), tmp_path / "stopped", sources=[toy_factory()], stop_after=2, evaluate=False, progress=False)
    assert (train(_config(tiny_bert), stopped, sources=[toy_factory()], evaluate=False, progress=False) / "model.safetensors").is_file()


def test_a_refused_run_leaves_no_folder_behind(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    cfg = parse_config({**_config(tiny_bert).to_dict(), "pairs": {"heldout_fraction": 0.3, "closer_phecode_siblings": True}})
    with pytest.raises(ConfigError) as err:  # no source maps codes to phecodes
        train(cfg, tmp_path / "new" / "run", sources=[toy_factory()], evaluate=False, progress=False)
    assert err.value.code == "E1724" and not (tmp_path / "new").exists()
    from ehrfeat.vocab import VocabSource, Vocabulary

    with pytest.raises(ConfigError) as err:  # no pairs and no synonyms
        train(_config(tiny_bert), tmp_path / "empty", sources=[VocabSource("toy", Vocabulary(), {})], evaluate=False, progress=False)
    assert err.value.code == "E412" and not (tmp_path / "empty").exists()


def test_checkpoint_folder_manifest_and_loaders(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    out = train(_config(tiny_bert, epochs=1), tmp_path / "m", sources=[toy_factory()], progress=False)
    for name in ("config.json", "model.safetensors", "modules.json", "sentence_bert_config.json", "README.md",
                 "1_Pooling/config.json", "ehrfeat_heldout.json"):
        assert (out / name).is_file(), name
    assert (out / "2_Normalize").is_dir()
    m = json.loads((out / MANIFEST).read_text())
    assert m["pooling"] == "mean" and m["max_length"] == 16 and m["base_model"] == str(tiny_bert)
    assert m["config"]["training"]["lr"] == 1e-3 and m["config"]["loss"]["lambda"] == 0.5
    assert {"torch", "transformers", "python"} <= set(m["versions"])
    toy = next(s for s in m["data_sources"] if s["name"] == "toy")
    assert toy["train"]["pairs"] > 0 and set(toy["train"]["categories"]) <= {"0", "1", "2", "3"}
    assert {"base", "trained"} == set(m["evaluation"]) and "pairs" in m["evaluation"]["trained"]

    from sentence_transformers import SentenceTransformer

    from ehrfeat import load_encoder

    st = SentenceTransformer(str(out), device="cpu")
    enc = load_encoder(out)
    texts = ["Type 2 diabetes mellitus", "Essential (primary) hypertension"]
    ours, theirs = enc.encode(texts), st.encode(texts, normalize_embeddings=True)
    assert st.max_seq_length == 16 and ours.shape == (2, 32)
    assert abs(ours - theirs).max() < 1e-5


def test_merge_with_base_interpolates_the_final_weights(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    plain = _weights(train(_config(tiny_bert, epochs=1), tmp_path / "a", sources=[toy_factory()], evaluate=False, progress=False))
    out = train(_config(tiny_bert, epochs=1, merge_with_base=0.5), tmp_path / "b", sources=[toy_factory()], evaluate=False, progress=False)
    merged, base = _weights(out), _weights(tiny_bert)
    for key in merged:
        if merged[key].is_floating_point():
            torch.testing.assert_close(merged[key], base[key] + 0.5 * (plain[key] - base[key]), rtol=0, atol=1e-6)
    assert json.loads((out / MANIFEST).read_text())["merge_with_base"] == 0.5


def test_merge_run_writes_what_training_with_the_merge_writes(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    from ehrfeat.errors import InputError, ModelError
    from ehrfeat.evaluation import HELDOUT_FILE
    from ehrfeat.training.merge import merge_run

    plain = train(_config(tiny_bert, epochs=1), tmp_path / "a", sources=[toy_factory()], evaluate=False, progress=False)
    trained = train(_config(tiny_bert, epochs=1, merge_with_base=0.5), tmp_path / "b", sources=[toy_factory()], evaluate=False, progress=False)
    before = _weights(plain)
    out = merge_run(plain, tmp_path / "merged", 0.5)
    merged, expected = _weights(out), _weights(trained)
    for key in expected:
        torch.testing.assert_close(merged[key], expected[key], rtol=0, atol=1e-6)
    assert all(torch.equal(before[k], v) for k, v in _weights(plain).items())  # the run is left as it was
    assert (out / HELDOUT_FILE).read_text() == (plain / HELDOUT_FILE).read_text()
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["merge_with_base"] == 0.5 and manifest["merged_from"] == str(plain)
    with pytest.raises(ModelError) as err:  # merging a merged model again would compound the weight
        merge_run(out, tmp_path / "twice", 0.5)
    assert err.value.code == "E1722"
    import subprocess
    import sys

    cli = subprocess.run([sys.executable, "-m", "ehrfeat.training.merge", str(out), str(tmp_path / "cli"), "--weight", "0.5"],
                         capture_output=True, text=True, timeout=300)
    assert cli.returncode == 2 and "E1722" in cli.stderr and str(out) in cli.stderr and not (tmp_path / "cli").exists()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(InputError):
        merge_run(plain, foreign, 0.5)
    assert (foreign / "notes.txt").read_text() == "keep me"
    for other in (plain, trained):  # the run itself, or another run: never written over
        with pytest.raises(InputError):
            merge_run(plain, other, 0.5)
    assert all(torch.equal(before[k], v) for k, v in _weights(plain).items())
    assert merge_run(plain, out, 0.25) == out  # a folder it wrote is its own
    assert json.loads((out / MANIFEST).read_text())["merge_with_base"] == 0.25
    from ehrfeat.errors import ConfigError

    for weight in (0.0, 1.5, float("nan")):
        with pytest.raises(ConfigError) as bad:
            merge_run(plain, tmp_path / "w", weight)
        assert bad.value.code == "E1723" and not (tmp_path / "w").exists()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / MANIFEST).write_bytes(b"\xff\xfe not json")
    with pytest.raises(ModelError) as err:
        merge_run(broken, tmp_path / "x", 0.5)
    assert err.value.code == "E318" and not (tmp_path / "x").exists()
    cli = subprocess.run([sys.executable, "-m", "ehrfeat.training.merge", str(plain), str(tmp_path / "y"), "--weight", "2"],
                         capture_output=True, text=True, timeout=300)
    assert cli.returncode == 2 and "E1723" in cli.stderr and "Traceback" not in cli.stderr and not (tmp_path / "y").exists()


class _Payload:
    """Unpickling this runs code: it writes a marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        import pathlib

        return (pathlib.Path.write_text, (pathlib.Path(self.marker), "pwned"))


def test_a_crafted_trainer_state_is_refused_without_running_code(tmp_path: Path) -> None:
    from ehrfeat.errors import ModelError
    from ehrfeat.training.checkpoint import load_trainer_state

    marker = tmp_path / "marker.txt"
    (tmp_path / LAST_CHECKPOINT).mkdir()
    torch.save({"step": 1, "evil": _Payload(str(marker))}, tmp_path / LAST_CHECKPOINT / "trainer_state.pt")
    with pytest.raises(ModelError, match="E318"):
        load_trainer_state(tmp_path)
    assert not marker.exists()


def test_distillation_keeps_the_trained_model_closer_to_its_base(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    free = train(_config(tiny_bert), tmp_path / "free", sources=[toy_factory()], evaluate=False, progress=False)
    held = train(_config(tiny_bert, distill_weight=50.0), tmp_path / "held", sources=[toy_factory()], evaluate=False, progress=False)
    base = _weights(tiny_bert)

    def drift(folder: Path) -> float:
        w = _weights(folder)
        return sum(float((w[k].float() - base[k].float()).norm() ** 2) for k in w if k in base) ** 0.5

    assert json.loads((held / MANIFEST).read_text())["config"]["training"]["distill_weight"] == 50.0
    assert 0.0 < drift(held) < drift(free)


def test_a_negative_distill_weight_is_a_config_error(tiny_bert: Path) -> None:
    with pytest.raises(ConfigError, match="distill_weight"):
        _config(tiny_bert, distill_weight=-1.0)


def test_rank_weight_zero_gives_exactly_the_old_loss(tiny_bert: Path) -> None:
    from ehrfeat.training.batching import Batch
    from ehrfeat.training.loop import batch_loss
    from ehrfeat.training.losses import RankLoss, SynonymLoss, TreeLoss
    from ehrfeat.training.model import TermModel
    from ehrfeat.training.pairs import TermPair

    model = TermModel(tiny_bert, max_length=16).eval()
    batch = Batch("x", pairs=(TermPair("fever", "pyrexia", 0), TermPair("fever", "chills", 1), TermPair("fever", "cough", 3),
                              TermPair("anemia", "low blood", 0), TermPair("anemia", "fracture", 3)))
    tree, syn = TreeLoss(), SynonymLoss()
    with torch.no_grad():
        old = batch_loss(model, batch, tree, syn)
        off = batch_loss(model, batch, tree, syn, rank=(RankLoss(), 0.0))
        on = batch_loss(model, batch, tree, syn, rank=(RankLoss(), 2.0))
        emb = torch.nn.functional.normalize(model(["fever", "pyrexia", "chills", "cough", "anemia", "low blood", "fracture"]), dim=-1)
    assert torch.equal(old, off)
    cos = torch.stack([emb[0] @ emb[i] for i in (1, 2, 3)] + [emb[4] @ emb[i] for i in (5, 6)])
    expected = RankLoss()(cos, torch.tensor([0, 1, 3, 0, 3]), torch.tensor([0, 0, 0, 1, 1]))
    assert (on - old).item() == pytest.approx(2.0 * expected.item(), rel=1e-4)


def test_a_source_with_its_own_bands_is_trained_with_them(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    from ehrfeat.training.batching import Batch
    from ehrfeat.training.loop import batch_loss
    from ehrfeat.training.losses import SynonymLoss, TreeLoss
    from ehrfeat.training.model import TermModel
    from ehrfeat.training.pairs import TermPair

    model = TermModel(tiny_bert, max_length=16).eval()
    batch = Batch("toy", pairs=(TermPair("fever", "pyrexia", 0), TermPair("fever", "chills", 1), TermPair("fever", "cough", 3)))
    own, shared, syn = TreeLoss(lambda_=(0.9, 0.3, 0.1)), TreeLoss(lambda_=(0.99, 0.98, 0.97)), SynonymLoss()
    with torch.no_grad():
        picked = batch_loss(model, batch, {"toy": own, "other": shared}, syn)
        assert torch.equal(picked, batch_loss(model, batch, own, syn))
        assert not torch.equal(picked, batch_loss(model, batch, shared, syn))
    with pytest.raises(KeyError):
        batch_loss(model, batch, {"other": shared}, syn)

    def run(name: str, loss_bands: list[float], source_bands: list[float] | None) -> Path:
        source: dict[str, object] = {"name": "toy", "reader": "icd10cm"}
        if source_bands is not None:
            source["lambdas"] = source_bands
        cfg = parse_config({"name": "toy", "sources": [source], "model": {"base": str(tiny_bert), "max_length": 16},
                            "training": {"lr": 1e-3, "batch_size": 16, "epochs": 1, "seed": 0}, "loss": {"lambdas": loss_bands},
                            "pairs": {"heldout_fraction": 0.3}})
        return train(cfg, tmp_path / name, sources=[toy_factory()], evaluate=False, progress=False)

    plain = _weights(run("plain", [0.9, 0.3, 0.1], None))
    same = run("same", [0.99, 0.98, 0.97], [0.9, 0.3, 0.1])  # the source's bands override the loss's
    other = _weights(run("other", [0.9, 0.3, 0.1], [0.99, 0.98, 0.97]))
    for key in plain:
        torch.testing.assert_close(plain[key], _weights(same)[key], rtol=0, atol=0)
    assert any(not torch.equal(plain[key], other[key]) for key in plain)
    rows = json.loads((same / MANIFEST).read_text())["data_sources"]
    assert rows[0]["name"] == "toy" and rows[0]["lambdas"] == [0.9, 0.3, 0.1]


def test_init_starts_the_weights_from_a_folder_and_keeps_the_base(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    first = train(_config(tiny_bert, epochs=1), tmp_path / "first", sources=[toy_factory()], evaluate=False, progress=False)
    cfg = parse_config({
        "name": "toy", "sources": [{"name": "toy", "reader": "icd10cm"}],
        "model": {"base": str(tiny_bert), "max_length": 16, "init": str(first)},
        "training": {"lr": 0.0, "batch_size": 16, "epochs": 1, "seed": 0, "distill_weight": 1.0},
        "loss": {"rank_weight": 1.0}, "pairs": {"heldout_fraction": 0.3},
    })
    out = train(cfg, tmp_path / "second", sources=[toy_factory()], evaluate=False, progress=False)
    a, b = _weights(first), _weights(out)
    for key in a:  # lr 0: the weights are the init folder's, not the base's
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    assert json.loads((out / MANIFEST).read_text())["base_model"] == str(tiny_bert)
    missing = parse_config({"sources": [{"name": "toy", "reader": "icd10cm"}], "model": {"base": str(tiny_bert), "init": str(tmp_path / "nope")}})
    with pytest.raises(ConfigError, match=r"model\.init"):
        train(missing, tmp_path / "third", sources=[toy_factory()], evaluate=False, progress=False)


def test_shared_word_focus_skips_the_pairs_a_batch_trains(tiny_bert: Path) -> None:
    from ehrfeat.training.batching import SYNONYMS, Batch
    from ehrfeat.training.distill import Distiller
    from ehrfeat.training.loop import batch_loss
    from ehrfeat.training.losses import SynonymLoss, TreeLoss
    from ehrfeat.training.model import TermModel
    from ehrfeat.training.pairs import TermPair

    teacher, model = TermModel(tiny_bert, max_length=16), TermModel(tiny_bert, max_length=16).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    tree, syn = TreeLoss(), SynonymLoss()
    plain, focused = Distiller(teacher, 1.0), Distiller(teacher, 1.0, shared_word=5.0)
    # the only pair sharing a word is the trained one: the focus changes nothing
    trained_only = Batch("x", pairs=(TermPair("ulna fracture", "fracture of radius", 1), TermPair("fever", "cough", 3)))
    # two concepts' synonyms share "syndrome": not trained together, so the focus weighs them up
    synonyms = Batch(SYNONYMS, terms=("eisenmenger syndrome", "eisenmenger complex", "noonan syndrome", "noonan disease"),
                     labels=(0, 0, 1, 1))
    # two anchors' partners share "fracture" but are not trained together: the focus weighs them up, by
    # the tree batches' own weight when it is given apart
    untrained = Batch("x", pairs=(TermPair("ulna fracture", "radius", 1), TermPair("skull fracture", "head", 1)))
    synonyms_only = Distiller(teacher, 1.0, shared_word=5.0, shared_word_tree=0.0)
    trees_lighter = Distiller(teacher, 1.0, shared_word=5.0, shared_word_tree=1.0)
    with torch.no_grad():
        assert batch_loss(model, trained_only, tree, syn, focused).item() == pytest.approx(
            batch_loss(model, trained_only, tree, syn, plain).item(), rel=1e-6)
        assert batch_loss(model, synonyms, tree, syn, focused).item() > batch_loss(model, synonyms, tree, syn, plain).item()
        assert batch_loss(model, untrained, tree, syn, focused).item() > batch_loss(model, untrained, tree, syn, plain).item()
        assert batch_loss(model, untrained, tree, syn, synonyms_only).item() == pytest.approx(
            batch_loss(model, untrained, tree, syn, plain).item(), rel=1e-6)
        assert batch_loss(model, synonyms, tree, syn, synonyms_only).item() == pytest.approx(
            batch_loss(model, synonyms, tree, syn, focused).item(), rel=1e-6)
        plain_loss, light, full = (batch_loss(model, untrained, tree, syn, d).item() for d in (plain, trees_lighter, focused))
        assert plain_loss < light < full
        assert batch_loss(model, synonyms, tree, syn, trees_lighter).item() == pytest.approx(
            batch_loss(model, synonyms, tree, syn, focused).item(), rel=1e-6)
    with pytest.raises(ValueError, match="shared-word"):
        Distiller(teacher, 1.0, shared_word=5.0, shared_word_tree=-1.0)


def test_distill_shared_word_is_checked_and_recorded(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    for bad in ({"distill_weight": 1.0, "distill_shared_word": -1.0}, {"distill_shared_word": 2.0},
                {"distill_weight": 1.0, "distill_shared_word": 2.0, "distill_shared_word_tree": -1},
                {"distill_shared_word_tree": 1.0}, {"distill_weight": 1.0, "distill_shared_word_tree": "none"}):
        with pytest.raises(ConfigError, match="distill_shared_word") as err:
            _config(tiny_bert, **bad)
        assert err.value.code == "E404"
    assert _config(tiny_bert, distill_weight=1.0, distill_shared_word=2.0).training.distill_shared_word_tree is None
    out = train(_config(tiny_bert, distill_weight=5.0, distill_shared_word=4.0, distill_shared_word_tree=1), tmp_path / "run",
                sources=[toy_factory()], evaluate=False, progress=False)
    recorded = json.loads((out / MANIFEST).read_text())["config"]["training"]
    assert recorded["distill_shared_word"] == 4.0 and recorded["distill_shared_word_tree"] == 1.0
    assert isinstance(recorded["distill_shared_word_tree"], float)  # an integer in TOML is read as a float


def test_depth_shift_reaches_the_tree_loss(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    from ehrfeat.training.batching import Batch
    from ehrfeat.training.loop import batch_loss
    from ehrfeat.training.losses import SynonymLoss, TreeLoss
    from ehrfeat.training.model import TermModel
    from ehrfeat.training.pairs import TermPair

    model = TermModel(tiny_bert, max_length=16).eval()
    batch = Batch("toy", pairs=(TermPair("fever", "pyrexia", 0, 3), TermPair("fever", "chills", 1, 2), TermPair("fever", "cough", 3)))
    shifted, syn = TreeLoss(lambda_=(0.9, 0.3, 0.1), depth_shift=0.05, mean_depth=0.5), SynonymLoss()
    with torch.no_grad():
        emb = torch.nn.functional.normalize(model(["fever", "pyrexia", "chills", "cough"]), dim=-1)
        cos, cats = torch.stack([emb[0] @ emb[i] for i in (1, 2, 3)]), torch.tensor([0, 1, 3])
        got = batch_loss(model, batch, shifted, syn)
        assert got.item() == pytest.approx(shifted(cos, cats, torch.tensor([3, 2, -1])).item(), rel=1e-5)
        assert got.item() != pytest.approx(shifted(cos, cats).item(), rel=1e-3)

    def run(name: str, shift: float) -> Path:
        cfg = parse_config({"name": "toy", "sources": [{"name": "toy", "reader": "icd10cm"}], "model": {"base": str(tiny_bert), "max_length": 16},
                            "training": {"lr": 1e-3, "batch_size": 16, "epochs": 1, "seed": 0}, "loss": {"lambdas": [0.9, 0.6, 0.3]},
                            "pairs": {"heldout_fraction": 0.3, "depth_shift": shift}})
        return train(cfg, tmp_path / name, sources=[toy_factory()], evaluate=False, progress=False)

    plain, deep = _weights(run("plain", 0.0)), run("deep", 0.05)
    assert any(not torch.equal(plain[key], _weights(deep)[key]) for key in plain)
    assert json.loads((deep / MANIFEST).read_text())["config"]["pairs"]["depth_shift"] == 0.05


def test_drop_layers_trains_a_shallower_student_and_resumes_it(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    """model.drop_layers: the student starts from the base's other layers, the base stays the teacher; resume keeps the depth."""
    base_layers = json.loads((tiny_bert / "config.json").read_text())["num_hidden_layers"]
    assert base_layers >= 2

    def cfg(lr: float) -> TrainConfig:
        return parse_config({
            "name": "toy", "sources": [{"name": "toy", "reader": "icd10cm"}],
            "model": {"base": str(tiny_bert), "max_length": 16, "drop_layers": [0]},
            "training": {"lr": lr, "batch_size": 16, "epochs": 2, "seed": 0, "save_every": 4, "distill_weight": 1.0},
            "pairs": {"heldout_fraction": 0.3},
        })

    frozen = train(cfg(0.0), tmp_path / "frozen", sources=[toy_factory()], evaluate=False, progress=False)
    assert json.loads((frozen / "config.json").read_text())["num_hidden_layers"] == base_layers - 1
    base, student = _weights(tiny_bert), _weights(frozen)
    for key, value in student.items():  # student layer i is the base's layer i + 1; embeddings unchanged
        source = re.sub(r"encoder\.layer\.(\d+)\.", lambda m: f"encoder.layer.{int(m.group(1)) + 1}.", key)
        torch.testing.assert_close(value, base[source], rtol=0, atol=0)
    straight = train(cfg(1e-3), tmp_path / "a", sources=[toy_factory()], evaluate=False, progress=False)
    train(cfg(1e-3), tmp_path / "b", sources=[toy_factory()], stop_after=5, evaluate=False, progress=False)
    resumed = train(cfg(1e-3), tmp_path / "b", sources=[toy_factory()], evaluate=False, progress=False)
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == student.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    from ehrfeat.models import load_encoder

    vectors = load_encoder(str(resumed), backend="torch", device="cpu").encode(["type 2 diabetes", "essential hypertension"])
    assert vectors.shape[0] == 2 and np.isfinite(vectors).all()


@pytest.mark.parametrize(("model", "training", "message"), [
    ({"drop_layers": [1, 1]}, {}, "distinct"),
    ({"drop_layers": [-1]}, {}, "distinct"),
    ({"drop_layers": [1.5]}, {}, "whole numbers"),
    ({"drop_layers": [0]}, {"merge_with_base": 0.5}, "merge"),
])
def test_bad_drop_layers_are_config_errors(tiny_bert: Path, model: dict, training: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=message) as err:
        parse_config({"sources": [{"name": "toy", "reader": "icd10cm"}], "model": {"base": str(tiny_bert), **model}, "training": training})
    assert err.value.code == "E404"


def test_dropping_every_layer_or_one_the_model_lacks_is_refused_before_training(tmp_path: Path, tiny_bert: Path, toy_factory) -> None:  # type: ignore[no-untyped-def]
    layers = json.loads((tiny_bert / "config.json").read_text())["num_hidden_layers"]
    for drop in (list(range(layers)), [layers]):
        cfg = parse_config({"sources": [{"name": "toy", "reader": "icd10cm"}], "model": {"base": str(tiny_bert), "drop_layers": drop},
                            "training": {"batch_size": 16, "epochs": 1}, "pairs": {"heldout_fraction": 0.3}})
        with pytest.raises(ConfigError, match="drop_layers"):
            train(cfg, tmp_path / f"run{len(drop)}", sources=[toy_factory()], evaluate=False, progress=False)
        assert not (tmp_path / f"run{len(drop)}").exists()


def test_the_reserved_source_names_are_the_loops_own_keys() -> None:
    """A source named like the synonym batches or the anchor loss would be trained as, or replaced by, them."""
    from ehrfeat.training.batching import SYNONYMS
    from ehrfeat.training.config import RESERVED_SOURCE_NAMES
    from ehrfeat.training.loop import ANCHOR_LOSS

    assert set(RESERVED_SOURCE_NAMES) == {SYNONYMS, ANCHOR_LOSS}
