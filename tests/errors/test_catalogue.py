"""The error catalogue defines every code once, and the README's troubleshooting table is made from it."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import ehrfeat
from ehrfeat.errors import EhrfeatError, InputError
from ehrfeat.errors.catalogue import ENTRIES, catalogue, lookup, main, sync_readme, troubleshooting_table
from ehrfeat.errors.entry import CODE_PATTERN, ErrorCode

PACKAGE = Path(ehrfeat.__file__).parent
README = PACKAGE.parent / "README.md"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _raised() -> dict[str, list[tuple[str, str]]]:
    """code -> [(module, class name)] for every ``code="E..."`` keyword and class default in ehrfeat/."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                for kw in node.keywords:
                    value = kw.value
                    is_text = isinstance(value, ast.Constant) and isinstance(value.value, str)
                    if kw.arg == "code" and is_text and CODE_PATTERN.fullmatch(value.value):
                        found[value.value].append((module, name))
            elif isinstance(node, ast.ClassDef) and module == "errors":
                for stmt in node.body:
                    if isinstance(stmt, ast.AnnAssign | ast.Assign) and isinstance(stmt.value, ast.Constant):
                        targets = [stmt.target] if isinstance(stmt, ast.AnnAssign) else stmt.targets
                        if any(isinstance(t, ast.Name) and t.id == "code" for t in targets):
                            found[str(stmt.value.value)].append((module, node.name))
    return found


def test_the_scan_sees_the_codes_ehrfeat_raises() -> None:
    raised = _raised()
    assert ("store.database", "DatabaseError") in raised["E204"]
    assert ("errors", "InputError") in raised["E100"]
    assert len(raised) > 100


def test_every_raised_code_is_catalogued() -> None:
    missing = sorted(set(_raised()) - set(catalogue()))
    assert missing == [], f"codes raised but not in ehrfeat/errors/*_codes.py: {missing}"


def test_every_catalogued_code_is_raised() -> None:
    unused = sorted(set(catalogue()) - set(_raised()))
    assert unused == [], f"catalogued codes that nothing raises: {unused}"


def test_no_code_is_defined_twice() -> None:
    codes = [e.code for e in ENTRIES]
    assert sorted(c for c in set(codes) if codes.count(c) > 1) == []


def test_each_code_keeps_one_meaning() -> None:
    """A code is raised only by the class and from the modules its entry names, and each named module raises it."""
    problems = []
    for code, sites in sorted(_raised().items()):
        entry = catalogue().get(code)
        if entry is None:
            continue
        modules = {m for m, _ in sites}
        if stray := sorted(modules - set(entry.where)):
            problems.append(f"{code} ({entry.meaning}) is also raised in {stray}: give that error its own code")
        if stale := sorted(set(entry.where) - modules):
            problems.append(f"{code} names {stale}, which do not raise it")
        if classes := sorted({c for _, c in sites if c.endswith("Error") and c != entry.error.__name__}):
            problems.append(f"{code} is a {entry.error.__name__} but is raised as {classes}")
    assert problems == []


def test_collisions_found_in_review_have_codes_of_their_own() -> None:
    """E204, E211 and E105 each meant two things; now each meaning has its own code."""
    raised = _raised()
    assert {m for m, _ in raised["E204"]} == {"store.database", "vocab.readers.athena_db"}
    assert {m for m, _ in raised["E209"]} == {"store.embeddings"}  # corrupt embedding row, was E204
    assert {m for m, _ in raised["E211"]} == {"store.schema"}
    assert {m for m, _ in raised["E216"]} == {"store.embeddings"}  # embeddings table lacks columns, was E211
    assert {m for m, _ in raised["E109"]} == {"encoders.base"}  # texts not a list of str, was E105
    assert "size" in lookup("E105").meaning


def test_four_digit_codes_are_accepted_and_sorted_after_their_hundred() -> None:
    entry = ErrorCode("E1401", InputError, "A meaning.", "A fix.", ("somewhere",))
    assert entry.code == "E1401"
    with pytest.raises(ValueError, match="E14011"):
        ErrorCode("E14011", InputError, "A meaning.", "A fix.", ("somewhere",))
    with pytest.raises(ValueError, match="meaning and a fix"):
        ErrorCode("E1402", InputError, "", "A fix.", ("somewhere",))
    codes = list(catalogue())
    assert codes.index("E178") < codes.index("E201")


def test_every_error_class_has_a_catalogued_default() -> None:
    assert lookup(EhrfeatError.code).error is EhrfeatError
    assert lookup(InputError.code).meaning.startswith("Malformed user input")


def test_readme_troubleshooting_table_is_made_from_the_catalogue() -> None:
    text = README.read_text(encoding="utf-8")
    assert sync_readme(text) == text, "run: python -m ehrfeat.errors.catalogue --write README.md"
    table = troubleshooting_table()
    assert "| E209 | DatabaseError | A stored embedding row is corrupt" in table
    assert len(table.splitlines()) == 2 + len(ENTRIES) - 8  # the header, the rule, each code but class defaults


def test_the_command_rewrites_and_checks_a_readme(tmp_path: Path) -> None:
    from ehrfeat.errors.catalogue import README_BEGIN, README_END

    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{README_BEGIN}\nA STALE TABLE\n{README_END}\n\nafter\n", encoding="utf-8")
    assert main([str(readme)]) == 1
    assert main([str(readme), "--write"]) == 0
    assert main([str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert "A STALE TABLE" not in text and text.endswith(f"{README_END}\n\nafter\n") and "| E101 | InputError |" in text
    readme.write_text("no markers", encoding="utf-8")
    with pytest.raises(ValueError, match="no '<!-- error catalogue"):
        main([str(readme)])
