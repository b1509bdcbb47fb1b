"""The linker outside this test process: entry point loading, and a runtime that needs no torch."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest
import spacy

ROOT = Path(__file__).resolve().parents[2]
NOTE = "Patient with type 2 diabetes mellitus and essential hypertension, started metformin."


@pytest.fixture(scope="module")
def saved_pipeline(tiny_onnx_model, small_index_dir, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    import ehrfeat.linking.component  # noqa: F401

    nlp = spacy.blank("en")
    nlp.add_pipe("ehrfeat_linker", config={"model": str(tiny_onnx_model), "index": {"path": str(small_index_dir)}, "systems": [], "threshold": 0.0})
    out = tmp_path_factory.mktemp("pipeline") / "nlp"
    nlp.to_disk(out)
    return out


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, **env}
    )


def test_linking_runs_with_torch_unimportable(saved_pipeline):
    # spaCy's thinc imports torch when it is installed, so "not in sys.modules" cannot hold in a dev venv:
    # instead torch and friends are made unimportable, and linking must still work end to end.
    out = _run(
        f"""
        import sys
        for name in ("torch", "transformers", "sentence_transformers", "optimum"):
            sys.modules[name] = None
        import spacy
        import ehrfeat.linking.component
        nlp = spacy.load({str(saved_pipeline)!r})
        doc = nlp({NOTE!r})
        print([(e.text, e._.ehrfeat_codes[0].code) for e in doc.ents])
        """,
        PYTHONPATH=str(ROOT),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "[('type 2 diabetes mellitus', 'E11'), ('essential hypertension', 'I10')]"


def test_importing_the_linking_package_imports_neither_spacy_nor_torch():
    out = _run("import sys, ehrfeat.linking, ehrfeat.linking.notes; print([m for m in ('spacy', 'torch') if m in sys.modules])", PYTHONPATH=str(ROOT))
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "[]"


def _entry_point_target() -> str | None:
    found = [ep for ep in metadata.entry_points(group="spacy_factories") if ep.name == "ehrfeat_linker"]
    return found[0].value if found else None


def test_spacy_load_finds_the_factory_without_importing_ehrfeat(saved_pipeline):
    target = _entry_point_target()
    if target is None:
        pytest.skip("ehrfeat is not installed with its spacy_factories entry point here (pip install -e . to test it)")
    assert target == "ehrfeat.linking.component:make_linker"
    out = _run(
        f"""
        import sys, spacy
        assert "ehrfeat" not in sys.modules
        nlp = spacy.load({str(saved_pipeline)!r})
        print(nlp.pipe_names, [e.text for e in nlp({NOTE!r}).ents])
        """
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "['ehrfeat_linker'] ['type 2 diabetes mellitus', 'essential hypertension']"
