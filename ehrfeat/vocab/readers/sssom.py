"""SSSOM mapping tables (TSV with a ``#``-commented YAML header), e.g. MONDO's exact matches.

Columns ``subject_id``, ``predicate_id`` and ``object_id`` are required;
``subject_label`` and ``object_label`` are used when present. Each row gives a
``CodeMapping(subject -> object, predicate)`` (``skos:exactMatch`` as written) and
its labelled sides become concepts of their systems; CURIE prefixes go through
:func:`~ehrfeat.codes.canonical_system` (``ICD10CM`` -> ICD10CM, ``mesh`` -> MeSH,
``HP`` -> HPO); ontologies without a normaliser keep the prefix (``MONDO:0000088``).
An unlabelled side still maps; it is counted in ``skipped`` as having no label.
"""

from __future__ import annotations

from pathlib import Path

from ehrfeat.errors import InputError, VocabularyError
from ehrfeat.vocab.readers._io import Skips, curie_to_code, read_delimited, require_file
from ehrfeat.vocab.source import CodeMapping, VocabSource
from ehrfeat.vocab.vocabulary import Vocabulary

__all__ = ["read_sssom"]


def _header(path: Path) -> dict[str, str]:
    """Top-level ``key: value`` pairs of the YAML header (nested maps such as curie_map are not needed)."""
    out: dict[str, str] = {}
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            body = line[1:].rstrip()
            body = body[1:] if body.startswith(" ") else body  # "# key: value"
            if body and not body.startswith(" ") and ":" in body:
                key, _, value = body.partition(":")
                out[key.strip()] = value.strip()
    return out


def read_sssom(path: str | Path) -> VocabSource:
    """Mappings of an SSSOM TSV, with the labels on both sides as concepts."""
    p = require_file(path, "SSSOM TSV")
    header = _header(p)
    skips = Skips()
    vocab = Vocabulary()
    mappings: dict[CodeMapping, None] = {}
    for row in read_delimited(p, ["subject_id", "predicate_id", "object_id"], delimiter="\t", comment="#", skips=skips):
        predicate = row["predicate_id"].strip()
        try:
            subject, obj = curie_to_code(row["subject_id"]), curie_to_code(row["object_id"])
        except (InputError, VocabularyError):
            skips.add("row with a malformed subject or object id (e.g. an ICD-10 block range)")
            continue
        if not predicate:
            skips.add("row without a predicate")
            continue
        mappings[CodeMapping(subject, obj, predicate)] = None
        for ref, label in ((subject, row.get("subject_label", "")), (obj, row.get("object_label", ""))):
            if label and label.strip():
                vocab.add(ref.system, ref.code, label)
            elif (ref.system, ref.code) not in vocab:
                skips.add("mapped id without a label (mapping kept, no concept)")
    name = header.get("mapping_set_id") or p.name
    return VocabSource(f"SSSOM {name}", vocab, {}, tuple(mappings), dict(skips))
