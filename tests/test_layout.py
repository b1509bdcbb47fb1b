"""Tests mirror the modules they test: ``tests/<package>/test_<module>.py``.

Every folder of tests names a package of ``ehrfeat/`` (``tests/store/meds/`` for
``ehrfeat/store/meds/``) or a top-level folder of the repository whose scripts it tests
(``tests/packaging/`` for ``packaging/``, ``tests/benchmarks/`` for ``benchmarks/``).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"


def _test_folders() -> list[Path]:
    return sorted({p.parent.relative_to(TESTS) for p in TESTS.rglob("test_*.py")} - {Path(".")})


def test_every_test_folder_mirrors_a_package_or_a_repository_folder() -> None:
    folders = _test_folders()
    assert Path("store/meds") in folders and Path("packaging") in folders  # the scan sees nested and script folders
    strays = [
        str(f) for f in folders
        if not (ROOT / "ehrfeat" / f / "__init__.py").is_file() and not (len(f.parts) == 1 and (ROOT / f).is_dir())
    ]
    assert strays == [], f"tests/<folder>/ with no ehrfeat/<folder>/ package: {strays}; move the tests next to their module"


def test_readme_layout_table_is_the_layers_contract_and_covers_the_tree() -> None:
    """The README's "Package layout" rows are the import-linter layers, highest first, and name every package."""
    import re
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in contracts if c["type"] == "layers")
    contract = [{name.strip() for name in layer.split("|")} for layer in layers]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Package layout"):]
    rows = re.findall(r"^\| \d+ \| ([^|]+) \|", section, flags=re.MULTILINE)
    assert [set(re.findall(r"`(ehrfeat\.\w+)`", row)) for row in rows] == contract
    tree = {f"ehrfeat.{p.stem}" for p in (ROOT / "ehrfeat").glob("*.py") if not p.stem.startswith("__")}
    tree |= {f"ehrfeat.{p.parent.name}" for p in (ROOT / "ehrfeat").glob("*/__init__.py")}
    assert tree == set().union(*contract)
