"""Name tables of the built-in dictionaries: built once, then read from ehrfeat's cache folder."""

from __future__ import annotations

import json
import logging
from importlib import metadata
from pathlib import Path

import pytest

from ehrfeat.vocab import name_cache
from ehrfeat.vocab.name_cache import cached_names, names_path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EHRFEAT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _builder(table: dict[str, str]):  # type: ignore[no-untyped-def]
    calls: list[int] = []

    def build() -> dict[str, str]:
        calls.append(1)
        return dict(table)

    return build, calls


def test_built_once_then_read_from_the_cache(cache: Path) -> None:
    build, calls = _builder({"E11.9": "Type 2 diabetes mellitus without complications", "Ä1": "naïve ünïcode"})
    first = cached_names("toy", "numpy", build)
    path = names_path("toy", "numpy")
    assert path is not None and path.parent == cache / "dictionaries" and metadata.version("numpy") in path.name
    assert json.loads(path.read_text(encoding="utf-8")) == first and len(calls) == 1
    assert cached_names("toy", "numpy", build) == first and len(calls) == 1  # read back, not built again
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_a_new_package_version_gets_a_new_table(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build, calls = _builder({"A": "a"})
    cached_names("toy", "numpy", build)
    installed = metadata.version("numpy")
    monkeypatch.setattr(name_cache.metadata, "version", lambda dist: "99.0+local")
    assert cached_names("toy", "numpy", build) == {"A": "a"} and len(calls) == 2
    assert sorted(p.name for p in (cache / "dictionaries").iterdir()) == sorted(
        [f"toy-{installed}-v{name_cache.FORMAT}.json", f"toy-99.0_local-v{name_cache.FORMAT}.json"])


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"A": 3}', "\udcff"])
def test_a_damaged_table_is_rebuilt_and_replaced(cache: Path, content: str, caplog: pytest.LogCaptureFixture) -> None:
    path = names_path("toy", "numpy")
    assert path is not None
    path.parent.mkdir(parents=True)
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    build, calls = _builder({"A": "a"})
    with caplog.at_level(logging.WARNING, logger="ehrfeat.vocab.name_cache"):
        assert cached_names("toy", "numpy", build) == {"A": "a"} and len(calls) == 1
    assert "rebuilding the" in caplog.text and str(path) in caplog.text
    assert json.loads(path.read_text(encoding="utf-8")) == {"A": "a"}


def test_without_a_version_or_a_writable_cache_the_table_is_still_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build, calls = _builder({"A": "a"})
    monkeypatch.setenv("EHRFEAT_CACHE", str(tmp_path / "cache"))
    assert names_path("toy", "no-such-distribution-ehrfeat") is None
    assert cached_names("toy", "no-such-distribution-ehrfeat", build) == {"A": "a"} and not (tmp_path / "cache").exists()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("EHRFEAT_CACHE", str(blocker))  # the cache folder cannot be made
    assert cached_names("toy", "numpy", build) == {"A": "a"} and len(calls) == 2
    assert blocker.read_text() == "not a folder"  # nothing of the user's overwritten


def test_builtin_tables_answer_as_their_packages_do(cache: Path) -> None:
    import simple_icd_10_cm as icd

    from ehrfeat.codes import ICD10CM, normalize_code
    from ehrfeat.errors import InputError
    from ehrfeat.vocab.builtin import BuiltinDictionaries
    from ehrfeat.vocab.readers.obo import read_hpo

    def direct(code: str) -> str | None:  # the lookup before the cache, straight from simple_icd_10_cm
        if not icd.is_valid_item(code) or icd.is_chapter(code) or (icd.is_block(code) and not icd.is_category(code)):
            return None
        return str(icd.get_description(code)) or None

    for _pass in ("built", "read from the cache by a new instance"):
        dicts = BuiltinDictionaries(phecode_dir="")
        checked = 0
        for code in icd.get_all_codes(with_dots=True):
            try:
                canon = normalize_code(ICD10CM, code)
            except InputError:
                continue  # chapters and blocks
            assert dicts.describe("ICD10CM", code) == direct(canon), code
            checked += 1
        assert checked > 90_000 and dicts.describe("ICD10CM", "E08-E13") is None
        assert (cache / "dictionaries" / f"icd10cm-{metadata.version('simple-icd-10-cm')}-v{name_cache.FORMAT}.json").is_file()
    hpo = read_hpo().vocabulary
    alias = next(a for a, t in hpo._aliases.items() if a.system == "HPO" and a not in hpo._concepts)
    codes = [c.code for c in hpo.concepts("HPO")] + [alias.code]
    for _pass in ("built", "read from the cache"):
        dicts = BuiltinDictionaries(phecode_dir="")
        assert all(dicts.describe("HPO", c) == hpo.name("HPO", c) for c in codes)
        assert dicts.describe("HPO", alias.code) is not None  # an alt_id finds its term
    assert sorted(p.name.split("-")[0] for p in (cache / "dictionaries").iterdir()) == ["hpo", "icd10cm"]
