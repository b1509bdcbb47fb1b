"""ICD-10-CM from the ``simple_icd_10_cm`` package (the CMS tabular list it ships).

Chapters (``"4"``) and blocks (``"E08-E13"``) are not codes: nothing in an EHR is
coded with them and :func:`~ehrfeat.codes.normalize_code` rejects them, so they are
left out of the vocabulary and the hierarchy (counted in ``skipped``). The
hierarchy therefore links real codes only and every 3-character category
(``E11``) is a root. Inclusion terms become synonyms.
"""

from __future__ import annotations

import logging
import time

from ehrfeat.codes import ICD10CM
from ehrfeat.errors import InputError, VocabularyError
from ehrfeat.vocab.hierarchy import Hierarchy
from ehrfeat.vocab.readers._io import Skips
from ehrfeat.vocab.source import VocabSource
from ehrfeat.vocab.vocabulary import Vocabulary

__all__ = ["read_icd10cm"]

log = logging.getLogger(__name__)


def _package():  # type: ignore[no-untyped-def]
    try:
        import simple_icd_10_cm
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise VocabularyError(
            "the simple_icd_10_cm package is not installed",
            fix="pip install simple-icd-10-cm",
            code="E115",
        ) from exc
    return simple_icd_10_cm


def read_icd10cm() -> VocabSource:
    """Every ICD-10-CM category, subcategory and 7th-character code with its description."""
    icd = _package()
    start = time.perf_counter()
    vocab = Vocabulary()
    hier = Hierarchy(ICD10CM)
    skips = Skips()
    seen: set[str] = set()
    for item in icd.get_all_codes(with_dots=True):
        if icd.is_chapter(item) or (icd.is_block(item) and not icd.is_category(item)):
            skips.add("chapter or block (not a code)")
            continue
        if item in seen:  # a block named like its only category (B99 "Other infectious diseases")
            skips.add("block listed under the name of its single category")
            continue
        seen.add(item)
        try:
            concept = vocab.add(ICD10CM, item, icd.get_description(item), icd.get_inclusion_term(item))
        except InputError:
            skips.add("malformed code or empty description")
            continue
        hier.add_node(concept.code)
        if not icd.is_category(item):
            try:
                hier.add_edge(concept.code, icd.get_parent(item))
            except InputError:
                skips.add("parent is not a code")
    log.info("read %d ICD-10-CM codes in %.1fs", len(vocab), time.perf_counter() - start)
    return VocabSource("ICD-10-CM (simple_icd_10_cm)", vocab, {ICD10CM: hier}, (), dict(skips))
