"""benchmarks/lay_mesh_concepts.py: a query's part is its MeSH concept's, and the delta is paired."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from tests.helpers import script_module

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "lay_mesh_concepts.py"
HEADER = "DescriptorUI\tDescriptorName\tConceptUI\tTermUI\tTermName\tConceptPreferredTermYN\tRecordPreferredTermYN\n"
ROWS = [  # MeSH's own rows: one descriptor, its preferred concept and a narrower one
    ("D000028", "Abortion, Induced", "M0000037", "T000076", "Abortion, Induced", "Y", "Y"),
    ("D000028", "Abortion, Induced", "M0000037", "T000075", "Induced Abortion", "N", "N"),
    ("D000028", "Abortion, Induced", "M0000035", "T000073", "Abortion Rate", "Y", "N"),
    ("D000022", "Abortion, Spontaneous", "M0000024", "T000053", "Abortion, Spontaneous", "Y", "Y"),
    ("D000022", "Abortion, Spontaneous", "M000639513", "T000937142", "Miscarriage", "Y", "N"),
]


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return script_module("benchmarks", "lay_mesh_concepts")


def test_a_query_is_preferred_only_when_its_term_is_of_the_descriptors_preferred_concept(script: ModuleType, tmp_path: Path) -> None:
    terms = tmp_path / "mesh_terms.tsv"
    terms.write_text(HEADER + "".join("\t".join(r) + "\n" for r in ROWS), encoding="utf-8")
    queries = (("induced abortion", "D000028"), ("Abortion Rate", "D000028"), ("Miscarriage", "D000022"), ("Abortion Rate", "D000022"))
    assert script.query_parts(terms, queries).tolist() == ["preferred", "other", "other", "other"]


def test_compare_gives_the_means_and_a_paired_interval(script: ModuleType) -> None:
    base = np.array([1.0, 0.0, 1.0, 0.0])
    trained = np.array([1.0, 1.0, 1.0, 1.0])
    got = script.compare(base, trained, "lay_mesh@1")
    assert (got["base"], got["trained"], got["delta"]) == (0.5, 1.0, 0.5)
    low, high = got["ci95"]
    assert 0.0 <= low <= 0.5 <= high <= 1.0  # every resample's delta lies in [0, 1]: trained never misses
    same = script.compare(base, base.copy(), "lay_mesh@1")
    assert same["delta"] == 0.0 and same["ci95"] == [0.0, 0.0]  # paired: a model against itself has no spread


@pytest.mark.parametrize(("content", "expected"), [
    (None, "[E111] MeSH terms TSV file not found"),
    (b"DescriptorUI\tTermName\n", "has no column(s) ConceptUI, RecordPreferredTermYN"),
    (HEADER.encode() + b"D000028\tAbortion, Induced\tM0000037\tT000076\tAbortion, Induced\xff\tY\tY\n", "UTF-8"),
])
def test_a_bad_terms_file_exits_2_with_a_message_and_no_traceback(tmp_path: Path, content: bytes | None, expected: str) -> None:
    terms = tmp_path / "mesh_terms.tsv"
    if content is not None:
        terms.write_bytes(content)
    done = subprocess.run([sys.executable, str(SCRIPT), "--terms", str(terms)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr and "Traceback" not in done.stderr
    assert str(terms) in done.stderr or "file not found" in done.stderr
