from __future__ import annotations

from pathlib import Path

import pytest

from ehrfeat.errors import ConfigError
from ehrfeat.training.config import load_config, parse_config, with_max_steps

SOURCE = {"name": "icd", "reader": "icd10cm_slice", "args": {"blocks": ["E08-E13"]}}


def test_defaults_and_sections() -> None:
    cfg = parse_config({"sources": [SOURCE], "loss": {"lambda": 0.4, "alpha": 3}, "training": {"lr": 1e-4}})
    assert cfg.loss.lambda_ == 0.4 and cfg.loss.alpha == 3.0 and cfg.loss.beta == 50.0
    assert cfg.training.lr == 1e-4 and cfg.training.batch_size == 256 and cfg.training.epochs == 1
    assert cfg.model.max_length == 25 and cfg.model.pooling == "mean"
    assert cfg.to_dict()["loss"]["lambda"] == 0.4 and cfg.loss.lambdas == ()
    banded = parse_config({"sources": [SOURCE], "loss": {"lambdas": [1, 0.85, 0.7]}})
    assert banded.loss.lambdas == (1.0, 0.85, 0.7) and banded.to_dict()["loss"]["lambdas"] == (1.0, 0.85, 0.7)
    assert banded.sources[0].lambdas == ()
    own = parse_config({"sources": [{**SOURCE, "lambdas": [0.76, 0.7, 0.62]}, {**SOURCE, "name": "other"}]})
    assert own.sources[0].lambdas == (0.76, 0.7, 0.62) and own.sources[1].lambdas == ()
    assert own.to_dict()["sources"][0]["lambdas"] == (0.76, 0.7, 0.62)
    closer = parse_config({"sources": [{**SOURCE, "lambdas": [0.82, 0.79, 0.76, 0.62]}, {**SOURCE, "name": "other"}],
                           "loss": {"lambdas": [0.82, 0.76, 0.62]}, "pairs": {"closer_phecode_siblings": True}})
    assert closer.sources[0].lambdas == (0.82, 0.79, 0.76, 0.62) and closer.pairs.closer_phecode_siblings


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"sources": [SOURCE], "training": {"learning_rate": 1}}, "training.learning_rate"),
        ({"sources": [SOURCE], "trainer": {}}, "unknown key trainer"),
        ({"sources": [{**SOURCE, "wieght": 2}]}, r"sources\[0\].wieght"),
        ({"sources": [SOURCE], "training": {"batch_size": "big"}}, "training.batch_size must be a whole number"),
        ({"sources": [SOURCE], "model": {"pooling": "max"}}, "model.pooling"),
        ({"sources": []}, "no \\[\\[sources\\]\\]"),
        ({"sources": [{"reader": "hpo"}]}, r"missing key sources\[0\].name"),
        ({"sources": [SOURCE, SOURCE]}, "repeat"),
        ({"sources": [{**SOURCE, "name": "synonyms"}]}, "named 'synonyms', which training uses for its own synonym batches"),
        ({"sources": [{**SOURCE, "name": "anchors"}]}, "named 'anchors', which training uses for its own anchor loss"),
        ({"sources": [{**SOURCE, "args": 3}]}, r"sources\[0\].args must be a table"),
        ({"sources": [SOURCE], "loss": {"lambdas": [0.9, "x", 0.7]}}, "loss.lambdas must be a list of numbers"),
        ({"sources": [SOURCE], "loss": {"lambdas": [0.7, 0.8, 0.9]}}, "non-increasing"),
        ({"sources": [SOURCE], "loss": {"lambdas": [0.9, 0.8]}}, "gives 2 thresholds; the pairs have 3"),
        ({"sources": [SOURCE], "loss": {"lambdas": [0.9, 0.8, 0.7]}, "pairs": {"depth_aware": True, "depth_cap": 4}}, "have 4 far"),
        ({"sources": [{**SOURCE, "lambdas": [0.7, 0.8, 0.6]}]}, r"sources\[0\].lambdas must be thresholds.*non-increasing"),
        ({"sources": [{**SOURCE, "lambdas": [0.9, 0.8]}]}, r"sources\[0\].lambdas gives 2 thresholds"),
        ({"sources": [{**SOURCE, "lambdas": [0.9, 0.8, 0.0]}]}, r"sources\[0\].lambdas must be thresholds in \(0, 1\]"),
        ({"sources": [{**SOURCE, "lambdas": [0.9, True, 0.7]}]}, r"sources\[0\].lambdas must be a list of numbers"),
        ({"sources": [{**SOURCE, "lambdas": 0.8}]}, r"sources\[0\].lambdas must be a list, got 0.8"),
        ({"sources": [SOURCE], "pairs": {"drop_phecode_siblings": True, "depth_aware": True}}, r"drop_phecode_siblings.*depth_aware"),
        ({"sources": [SOURCE], "pairs": {"closer_phecode_siblings": True, "depth_aware": True}}, r"closer_phecode_siblings.*depth_aware"),
        ({"sources": [SOURCE], "pairs": {"closer_phecode_siblings": True, "drop_phecode_siblings": True}}, "both cannot hold"),
        ({"sources": [{**SOURCE, "lambdas": [0.9, 0.85, 0.8, 0.7]}]}, r"sources\[0\].lambdas gives 4 thresholds; the pairs have 3 far"),
        ({"sources": [{**SOURCE, "lambdas": [0.9, 0.8]}], "pairs": {"closer_phecode_siblings": True}}, "the pairs have 3 or 4 far"),
        ({"sources": [SOURCE], "training": {"sibling_synonyms": "yes"}}, r"training.sibling_synonyms must be true or false"),
        ({"sources": [SOURCE], "training": {"synonym_family": "grandparent", "sibling_synonyms": True}}, r"synonym_family must be 'parent' or 'head_word'"),
        ({"sources": [SOURCE], "training": {"synonym_family": "head_word"}}, r"synonym_family chooses the families of training.sibling_synonyms, which is off"),
        ({"sources": [SOURCE], "pairs": {"phecode_members": 2}}, r"phecode_members draws into the category pairs.closer_phecode_siblings makes, which is off"),
        ({"sources": [{**SOURCE, "lambdas": [0.82, 0.79, 0.76, 0.62]}], "pairs": {"closer_phecode_siblings": True, "phecode_members": -1}},
         r"phecode_members must be >= 0, got -1"),
        ({"sources": [SOURCE], "pairs": {"qualifier_negatives": -1}}, r"pairs.qualifier_negatives must be in \[0, pairs.k = 2\], got -1"),
        ({"sources": [SOURCE], "pairs": {"qualifier_negatives": 3}}, r"pairs.qualifier_negatives must be in \[0, pairs.k = 2\], got 3"),
        ({"sources": [SOURCE], "pairs": {"depth_shift": -0.01}}, r"pairs.depth_shift must be in \[0, 0.05\], got -0.01"),
        ({"sources": [SOURCE], "training": {"distill_weight": 6.0, "distill_weight_tree": -1.0}}, r"distill_weight_tree.*must be >= 0"),
        ({"sources": [SOURCE], "training": {"distill_weight": 0.0, "distill_shared_word": 4.0, "distill_weight_tree": 6.0}},
         r"a focus needs a weight in its batches\), got 0.0, 6.0, 4.0"),
        ({"sources": [SOURCE], "training": {"distill_weight": 6.0, "distill_shared_word_tree": 1.0, "distill_weight_tree": 0.0}},
         r"a focus needs a weight in its batches"),
        ({"sources": [SOURCE], "pairs": {"depth_shift": 0.2}}, r"pairs.depth_shift must be in \[0, 0.05\], got 0.2"),
        ({"sources": [SOURCE], "pairs": {"depth_shift": 0.01, "depth_aware": True}}, r"depth_shift.*depth_aware are hop|turn one of pairs.depth_shift"),
    ],
)
def test_bad_configs_name_the_key(data: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_config(data)


def test_missing_file_names_key_and_file(tmp_path: Path) -> None:
    toml = tmp_path / "cfg.toml"
    toml.write_text('[[sources]]\nname = "phe"\nreader = "phecode"\n[sources.args]\nmap_csv = "data/nope.csv"\n')
    with pytest.raises(ConfigError, match=r"sources\[0\].args.map_csv.*nope.csv") as err:
        load_config(toml)
    assert str(tmp_path) in str(err.value)


def test_a_config_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    toml = tmp_path / "cfg.toml"
    toml.write_bytes(b"\xff\xfe[[sources]]\n")
    with pytest.raises(ConfigError, match=r"cfg.toml is not UTF-8") as err:
        load_config(toml)
    assert err.value.code == "E401" and "UTF-8" in (err.value.fix or "")


def test_relative_and_env_paths_resolve_against_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "map.csv").write_text("x")
    monkeypatch.setenv("MYDATA", str(tmp_path / "data"))
    toml = tmp_path / "sub" / "cfg.toml"
    toml.parent.mkdir()
    toml.write_text('[[sources]]\nname = "a"\nreader = "phecode"\n[sources.args]\nmap_csv = "../data/map.csv"\n'
                    'pheinfo_csv = "${MYDATA}/map.csv"\n')
    cfg = load_config(toml)
    assert cfg.sources[0].args["map_csv"] == str((tmp_path / "data" / "map.csv").resolve())
    assert cfg.sources[0].args["pheinfo_csv"] == cfg.sources[0].args["map_csv"]


def test_unset_variable_and_missing_config_file(tmp_path: Path) -> None:
    toml = tmp_path / "cfg.toml"
    toml.write_text('[[sources]]\nname = "a"\nreader = "mesh"\n[sources.args]\nterms_tsv = "${NO_SUCH_VAR_X}/t.tsv"\n')
    with pytest.raises(ConfigError, match="NO_SUCH_VAR_X"):
        load_config(toml)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.toml")
    (tmp_path / "bad.toml").write_text("[[sources]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path / "bad.toml")


def test_recipes_ship_in_the_package(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    smoke = load_config("smoke")
    assert smoke.model.base == "tiny" and smoke.sources[0].reader == "icd10cm_slice"
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # recipes read ../shared/data from the project root
    mini = load_config("hiprbert-mini")
    assert mini.model.base == "minilm" and mini.model.max_length == 25
    assert {s.reader for s in mini.sources} >= {"icd10cm", "icd9cm", "phecode", "hpo", "mesh", "obograph", "sssom"}
    assert with_max_steps(mini, 10).training.max_steps == 10 and with_max_steps(mini, None) is mini
    v2 = load_config("hiprbert-mini-v2")
    assert v2.model.max_length >= 64 and v2.training.distill_weight > 0 and len(v2.loss.lambdas) == 3
    assert [s.name for s in v2.sources] == [s.name for s in mini.sources]  # same data, same held-out split


def test_rank_loss_and_init_keys(tmp_path: Path) -> None:
    src = [{"name": "a", "reader": "icd10cm"}]
    off = parse_config({"sources": src})
    assert off.loss.rank_weight == 0.0 and off.model.init == ""  # old recipes: no rank loss, weights from the base
    on = parse_config({"sources": src, "loss": {"rank_weight": 1, "rank_margin": 0.1, "rank_gamma": 10}, "model": {"init": "runs/v2"}}, tmp_path)
    assert (on.loss.rank_weight, on.loss.rank_margin, on.loss.rank_gamma) == (1.0, 0.1, 10.0)
    assert on.model.init == str((tmp_path / "runs/v2").resolve())  # resolved like data paths, checked when training starts
    assert on.to_dict()["loss"]["rank_weight"] == 1.0
    for bad in ({"rank_weight": -1.0}, {"rank_margin": -0.1}, {"rank_gamma": 0.0}):
        with pytest.raises(ConfigError, match="rank_"):
            parse_config({"sources": src, "loss": bad})
    with pytest.raises(ConfigError, match=r"loss\.rank_weight must be a number"):
        parse_config({"sources": src, "loss": {"rank_weight": "yes"}})


def test_v3_recipe_continues_v2_with_the_rank_loss(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    v2, v3 = load_config("hiprbert-mini-v2"), load_config("hiprbert-mini-v3")
    assert v3.loss.rank_weight > 0 and v3.model.init == str(root / "runs" / "hiprbert-mini-v2")
    assert v3.model.base == v2.model.base == "minilm" and v3.training.distill_weight == v2.training.distill_weight
    # the same sources, seed and held-out fraction: the same held-out groups and evaluation rows as v2
    assert v3.sources == v2.sources and v3.training.seed == v2.training.seed and v3.pairs == v2.pairs


def test_v4_recipe_trains_from_the_base_in_one_run_on_v2s_held_out_groups(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    v2, v4 = load_config("hiprbert-mini-v2"), load_config("hiprbert-mini-v4")
    assert v4.model.init == "" and v4.model.base == "minilm" and v4.model.max_length >= 64
    assert list(v4.loss.lambdas) == sorted(v4.loss.lambdas, reverse=True) and v4.loss.rank_weight > 0
    weights = {s.name: s.synonym_weight for s in v4.sources}
    assert weights["mesh"] > 1 and weights["hpo"] > 1  # entry terms and layperson synonyms drawn more often
    # the same sources, seed and held-out fraction as v2: the same held-out groups and evaluation rows
    assert [s.name for s in v4.sources] == [s.name for s in v2.sources] and v4.pairs == v2.pairs and v4.training.seed == v2.training.seed


def test_every_run_config_in_the_results_loads_on_v4s_held_out_groups(shared_data: Path) -> None:
    """The configs the model card links to rebuild their runs from anywhere (paths relative to the file)."""
    results = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
    v4 = load_config(results / "hiprbert-mini-v5-run1.toml")  # v4 and the runs after it share v4's held-out groups
    runs = sorted(results.glob("hiprbert-mini-v*.toml"))
    assert len(runs) >= 5
    for path in runs:
        cfg = load_config(path)
        names = [s.name for s in cfg.sources]
        assert names[: len(v4.sources)] == [s.name for s in v4.sources] and cfg.training.seed == v4.training.seed, path.name
        assert all(not s.hierarchy for s in cfg.sources[len(v4.sources):]), path.name  # later sources: synonyms only (v38)
        assert cfg.pairs.heldout_fraction == v4.pairs.heldout_fraction, path.name
    v8 = load_config(results / "hiprbert-mini-v8-run1.toml")
    assert v8.training.sibling_synonyms and not v4.training.sibling_synonyms
    assert load_config(results / "hiprbert-mini-v9-s100.toml").pairs.drop_phecode_siblings
    assert load_config(results / "hiprbert-mini-v7-s100.toml").sources[2].lambdas == (0.76, 0.70, 0.62)
    v38 = load_config(results / "hiprbert-mini-v38-run1.toml")
    assert v38.pairs.exclude_heldout_texts and not v4.pairs.exclude_heldout_texts and len(v38.sources) == len(v4.sources) + 2
    v12 = load_config(results / "hiprbert-mini-v12-run1.toml")
    assert v12.pairs.closer_phecode_siblings and v12.sources[0].lambdas == (0.82, 0.79, 0.76, 0.62)
    assert load_config(results / "hiprbert-mini-v13-s100.toml").sources[4].lambdas == (0.82, 0.70, 0.60)
