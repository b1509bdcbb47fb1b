"""The linker's code index: code vectors, their descriptions, and the dictionary terms.

A :class:`LinkingIndex` is what the spaCy component searches: one L2-normalised
row per code (the preferred name embedded by one encoder, whose fingerprint it
keeps), plus the names, synonyms and variants of those codes that the dictionary
matcher looks for in notes. It is saved as a folder::

    index.json    format, fingerprint, source, codes, descriptions
    matrix.npy    float32 (n_codes, dim)
    terms.json    dictionary terms

Search is exact cosine top-k (:class:`ehrfeat.index.CodeIndex`), in chunks of
queries so a note with thousands of mentions never builds a huge score matrix.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ehrfeat.codes import Code, canonical_system
from ehrfeat.encoders.base import Encoder
from ehrfeat.errors import InputError, ModelError
from ehrfeat.index import CodeIndex
from ehrfeat.linking.terms import term_variants, usable_term
from ehrfeat.paths import check_output_folder, replace_folder
from ehrfeat.store.embeddings import CodeEmbeddings
from ehrfeat.vocab import Vocabulary

__all__ = [
    "BUILD_HINT",
    "INDEX_FILES",
    "INDEX_FORMAT",
    "LinkingIndex",
    "build_index",
    "check_index_folder",
    "index_from_embeddings",
    "is_index_folder",
    "load_index",
    "save_index",
]

logger = logging.getLogger(__name__)

INDEX_FORMAT = 1
INDEX_FILES = ("index.json", "matrix.npy", "terms.json")  # index.json first: written last into an empty folder
BUILD_HINT = (
    "build one with `ehrfeat build-index OUT_DIR` (built-in ICD-10-CM/HPO), or embed a database's codes "
    "with `ehrfeat embed-codes DB` and configure index={'db': DB}"
)
_QUERY_CHUNK = 1024


@dataclass(frozen=True)
class LinkingIndex:
    """Code vectors of one encoder, their descriptions, and the terms to look for in notes."""

    embeddings: CodeEmbeddings
    terms: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "_search", CodeIndex(self.embeddings))

    def __len__(self) -> int:
        return len(self.embeddings)

    @property
    def fingerprint(self) -> str:
        return self.embeddings.fingerprint

    @property
    def systems(self) -> tuple[str, ...]:
        return tuple(sorted({c.system for c in self.embeddings.codes}))

    def check_encoder(self, encoder: Encoder) -> None:
        """Refuse to search with vectors of another encoder (they live in another space)."""
        if encoder.fingerprint != self.fingerprint:
            raise ModelError(
                f"the code index ({self.source}) was built with encoder {self.fingerprint}, "
                f"but the pipeline's model has fingerprint {encoder.fingerprint}",
                fix="set the linker's `model` to the encoder of the index, or rebuild the index with this model "
                "(`ehrfeat build-index OUT_DIR --model M` or `ehrfeat embed-codes DB --model M`)",
                code="E340",
            )

    def search(
        self, queries: np.ndarray, k: int, *, systems: Sequence[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and row indices ``(n, k)`` of the nearest codes, best first (exact cosine)."""
        k = min(k, len(self))
        if len(queries) == 0 or k == 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64)
        index: CodeIndex = self._search  # type: ignore[attr-defined]
        parts = [index.search(queries[i : i + _QUERY_CHUNK], k, systems=systems) for i in range(0, len(queries), _QUERY_CHUNK)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _dictionary_terms(strings: Iterable[str]) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for text in strings:
        for variant in term_variants(text):
            if usable_term(variant):
                out.setdefault(variant, None)
    return tuple(out)


def build_index(
    vocabulary: Vocabulary,
    encoder: Encoder,
    *,
    systems: Sequence[str] | None = None,
    keep: Iterable[Code] | None = None,
    source: str = "vocabulary",
    batch_size: int = 256,
    show_progress_bar: bool = False,
) -> LinkingIndex:
    """Embed the preferred name of each concept (of ``systems``, or only ``keep``); terms from all names."""
    wanted = {canonical_system(s) for s in systems} if systems else None
    kept = set(keep) if keep is not None else None
    concepts = sorted(
        (c for c in vocabulary if (wanted is None or c.system in wanted) and (kept is None or c.ref in kept)),
        key=lambda c: (c.system, c.code),
    )
    if not concepts:
        raise InputError(
            f"no concepts of {sorted(wanted) if wanted else 'any system'} to index in {vocabulary!r}",
            fix="check the code systems (e.g. ICD10CM, HPO) and the vocabulary",
            code="E170",
        )
    logger.info("embedding %d code names for the linking index", len(concepts))
    matrix = encoder.encode([c.name for c in concepts], batch_size=batch_size, show_progress_bar=show_progress_bar)
    embeddings = CodeEmbeddings(encoder.fingerprint, tuple(c.ref for c in concepts), tuple(c.name for c in concepts), matrix)
    terms = _dictionary_terms(t for c in concepts for t in c.terms)
    return LinkingIndex(embeddings, terms, source)


def index_from_embeddings(embeddings: CodeEmbeddings, vocabulary: Vocabulary | None, source: str) -> LinkingIndex:
    """An index over cached vectors (``code_embeddings``); terms from their texts and ``vocabulary``."""
    if len(embeddings) == 0:
        raise InputError(f"{source} holds no code embeddings", fix=BUILD_HINT, code="E171")
    strings: list[str] = list(embeddings.texts)
    if vocabulary is not None:
        for code in embeddings.codes:
            concept = vocabulary.get(code.system, code.code)
            if concept is not None:
                strings.extend(concept.terms)
    return LinkingIndex(embeddings, _dictionary_terms(strings), source)


def is_index_folder(folder: Path) -> bool:
    """True when ``folder`` holds only an index's files and its ``index.json`` says it is one."""
    names = {p.name for p in folder.iterdir()}
    if not names <= set(INDEX_FILES) or "index.json" not in names:
        return False
    try:
        meta = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and "format" in meta and "fingerprint" in meta


def check_index_folder(folder: str | os.PathLike[str]) -> Path:
    """Refuse, before any work, a target that is a file, a non-empty folder that is not an index, or not writable."""
    return check_output_folder(folder, is_index_folder, "index folder", example="linking-index")


def save_index(index: LinkingIndex, folder: str | os.PathLike[str]) -> Path:
    """Write the index folder atomically (a reader never sees half an index).

    An old index there is replaced (written beside, then renamed in); a folder holding
    anything else is refused (:func:`check_index_folder`), never emptied.
    """
    folder = check_index_folder(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    tmp.chmod(0o755)
    try:
        emb = index.embeddings
        meta = {
            "format": INDEX_FORMAT,
            "fingerprint": emb.fingerprint,
            "source": index.source,
            "dim": emb.dim if len(emb) else 0,
            "codes": [[c.system, c.code] for c in emb.codes],
            "texts": list(emb.texts),
        }
        (tmp / "index.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        np.save(tmp / "matrix.npy", np.ascontiguousarray(emb.matrix, dtype=np.float32))
        (tmp / "terms.json").write_text(json.dumps(list(index.terms), ensure_ascii=False), encoding="utf-8")
        replace_folder(tmp, folder, INDEX_FILES)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def load_index(folder: str | os.PathLike[str]) -> LinkingIndex:
    """Read an index folder written by :func:`save_index`."""
    folder = Path(folder)
    meta_path, matrix_path, terms_path = folder / "index.json", folder / "matrix.npy", folder / "terms.json"
    if not meta_path.is_file() or not matrix_path.is_file() or not terms_path.is_file():
        raise InputError(f"{folder} is not a linking index (index.json, matrix.npy, terms.json)", fix=BUILD_HINT, code="E172")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        terms = json.loads(terms_path.read_text(encoding="utf-8"))
        matrix = np.load(matrix_path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the linking index {folder}: {exc}", fix=BUILD_HINT, code="E173") from exc
    embeddings, terms = _checked_index(folder, meta, terms, matrix)
    return LinkingIndex(embeddings, terms, str(meta.get("source", folder)))


def _checked_index(folder: Path, meta: object, terms: object, matrix: np.ndarray) -> tuple[CodeEmbeddings, tuple[str, ...]]:
    """The embeddings and terms of an index folder, or an E173 naming what of it was changed by hand."""
    def broken(what: str) -> InputError:
        return InputError(f"the linking index {folder} is damaged: {what}",
                          fix=f"rebuild it with `ehrfeat build-index {folder}` (it replaces an old index), or restore it from where it came",
                          code="E173")

    if not isinstance(meta, dict):
        raise broken(f"index.json holds a {type(meta).__name__}, not an object")
    if meta.get("format") != INDEX_FORMAT:
        raise InputError(f"{folder} has index format {meta.get('format')}, expected {INDEX_FORMAT}", fix=BUILD_HINT, code="E173")
    for key, kind in (("fingerprint", str), ("codes", list), ("texts", list)):
        if not isinstance(meta.get(key), kind):
            raise broken(f"index.json's {key!r} is missing or not a {kind.__name__}")
    pairs = meta["codes"]
    bad = next((p for p in pairs if not (isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) and x for x in p))), None)
    if bad is not None:
        raise broken(f"index.json's codes hold {str(bad)[:60]!r}, not a [system, code] pair")
    if not all(isinstance(t, str) for t in meta["texts"]):
        raise broken("index.json's texts are not all strings")
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise broken("terms.json is not a list of strings")
    codes = tuple(Code(s, c) for s, c in pairs)
    if len(set(codes)) != len(codes):
        raise broken("index.json lists a code twice")
    if matrix.ndim != 2 or matrix.shape[0] != len(codes) or len(meta["texts"]) != len(codes):
        raise InputError(f"{folder}: matrix shape {matrix.shape} does not match {len(codes)} codes", fix=BUILD_HINT, code="E173")
    if not np.issubdtype(matrix.dtype, np.floating) or not np.isfinite(matrix).all():
        raise broken(f"matrix.npy holds {matrix.dtype} values that are not all finite numbers")
    embeddings = CodeEmbeddings(meta["fingerprint"], codes, tuple(meta["texts"]), matrix.astype(np.float32, copy=False))
    return embeddings, tuple(terms)
