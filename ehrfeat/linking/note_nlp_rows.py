"""NOTE_NLP rows of a batch of linked notes, and the bookkeeping rows that mark the notes linked.

:func:`write_batch` turns the spaCy docs of a batch of notes into one NOTE_NLP row per
mention and code (the top ``per_mention`` codes; see :mod:`ehrfeat.linking.note_tables`
for the columns) and writes them, with one bookkeeping row per note
(:mod:`ehrfeat.linking.note_runs`), in one transaction, so a killed run never leaves a
note half written. Offsets and snippets are in the whole note, also for a note linked in
windows; the context flags (negated, family, ...) become OMOP's ``term_exists`` and
``term_temporal`` and ``term_modifiers`` entries.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ehrfeat.codes import Code
from ehrfeat.linking.note_runs import NoteRun, claim_notes
from ehrfeat.linking.note_tables import NoteTables
from ehrfeat.store.database import masked_url
from ehrfeat.store.locks import write_transaction
from ehrfeat.store.omop_concepts import ConceptIds
from ehrfeat.store.search_path import writable

__all__ = ["write_batch"]

_SNIPPET = 40


def write_batch(
    engine: sa.Engine, tables: NoteTables, concepts: ConceptIds, batch: list[tuple[int, str]], docs: list[list[tuple[int, Any]]],
    per_mention: int, run: NoteRun, counts: Counter[str], *, drop_negated: bool = False,
) -> None:
    """Write the NOTE_NLP and bookkeeping rows of ``batch`` (its ``docs`` from the pipeline) in one transaction;
    notes another run of this key claimed meanwhile are left alone. Adds the batch's tallies to ``counts``."""
    fingerprint, nlp_system = run.fingerprint, run.nlp_system
    now = datetime.now(UTC)
    found: list[tuple[int, str, Any, int, int]] = []  # note id, text, span, mention count, offset of the span's window
    links = []
    tallies: dict[int, Counter[str]] = {}
    for (note_id, text), parts in zip(batch, docs, strict=True):
        tally = tallies[note_id] = Counter()
        n_rows = 0
        for base, doc in parts:
            mentions = [e for e in doc.spans.get("ehrfeat_mentions", doc.ents) if e._.ehrfeat_codes is not None]
            if doc.has_extension("ehrfeat_unresolved_abbreviations"):
                tally["ambiguous"] += doc._.ehrfeat_unresolved_abbreviations or 0
            tally["negated"] += sum(bool(_flag(e, "ehrfeat_negated")) for e in mentions)
            tally["family"] += sum(bool(_flag(e, "ehrfeat_family")) for e in mentions)
            if drop_negated:
                tally["negated_dropped"] += sum(bool(_flag(e, "ehrfeat_negated")) for e in mentions)
                mentions = [e for e in mentions if not _flag(e, "ehrfeat_negated")]
            for span in mentions:
                codes = span._.ehrfeat_codes[:per_mention]
                tally["no_code"] += not codes
                n_rows += len(codes)
                found.append((note_id, text, span, len(codes), base))
            tally["mentions"] += len(mentions)
        links.append({"note_id": note_id, "run_key": run.key, "fingerprint": fingerprint, "settings": run.settings,
                      "mentions": tally["mentions"], "rows_written": n_rows, "linked_at": now.isoformat(timespec="seconds")})
    with writable(f"table {tables.where!r}", tables.schema), \
            write_transaction(engine, f"link-notes:{tables.note_nlp.name}", masked_url(engine)) as conn:
        done, replaced = claim_notes(conn, tables, run, [note_id for note_id, _ in batch])  # another run of this key
        found = [f for f in found if f[0] not in done]
        links = [link for link in links if link["note_id"] not in done]
        ids = concepts.resolve(conn, [Code(c.system, c.code) for _, _, span, n, _ in found for c in span._.ehrfeat_codes[:n]])
        col = tables.note_nlp.c[tables.note_nlp_columns["note_nlp_id"]]
        next_id = int(conn.execute(sa.select(sa.func.max(sa.cast(col, sa.BigInteger)))).scalar() or 0) + 1
        rows: list[dict[str, Any]] = []
        concept = 0
        for note_id, text, span, n, base in found:
            for rank, code in enumerate(span._.ehrfeat_codes[:n], start=1):
                source_id, standard_id = ids[Code(code.system, code.code)]
                rows.append(_row(next_id + len(rows), note_id, text, span, code, rank, source_id, standard_id,
                                 fingerprint, nlp_system, now, tables.note_nlp_columns, base))
                concept += standard_id != 0 or source_id != 0
        if rows:
            conn.execute(sa.insert(tables.note_nlp), rows)
        if links:
            conn.execute(sa.insert(tables.links), links)
    for note_id, tally in tallies.items():
        if note_id not in done:
            counts.update(tally)
    counts.update(notes=len(batch) - len(done), already=len(done), rows=len(rows), concept=concept, replaced=replaced)


def _row(note_nlp_id: int, note_id: int, text: str, span: Any, code: Any, rank: int, source_id: int, standard_id: int,
         fingerprint: str, nlp_system: str, now: datetime, present: dict[str, str], base: int = 0) -> dict[str, Any]:
    start, end = base + span.start_char, base + span.end_char  # offsets in the whole note, not in its window
    snippet = " ".join(text[max(0, start - _SNIPPET) : end + _SNIPPET].split())[:250]
    values = {
        "note_nlp_id": note_nlp_id, "note_id": note_id, "section_concept_id": 0, "snippet": snippet,
        "offset": str(start), "lexical_variant": span.text[:250], "note_nlp_concept_id": standard_id,
        "note_nlp_source_concept_id": source_id, "nlp_system": nlp_system, "nlp_date": now.date().isoformat(),
        "nlp_datetime": now.strftime("%Y-%m-%d %H:%M:%S"), **_context_columns(span),
        "term_modifiers": f"system={code.system};code={code.code};score={code.score:.4f};rank={rank};encoder={fingerprint}"
                          + _context_modifiers(span),
        "code_system": code.system, "code": code.code, "score": float(code.score),
    }
    return {actual: values[name] for name, actual in present.items()}


def _flag(span: Any, name: str) -> Any:
    return getattr(span._, name, None) if span.has_extension(name) else None


def _context_columns(span: Any) -> dict[str, Any]:
    """OMOP's ``term_exists`` (``N`` when negated, hypothetical, uncertain or about someone else) and
    ``term_temporal`` (``past`` or ``present``); ``None`` both when the pipeline ran no context."""
    if _flag(span, "ehrfeat_negated") is None:
        return {"term_exists": None, "term_temporal": None}
    absent = any(_flag(span, n) for n in ("ehrfeat_negated", "ehrfeat_hypothetical", "ehrfeat_uncertain", "ehrfeat_family"))
    return {"term_exists": "N" if absent else "Y", "term_temporal": "past" if _flag(span, "ehrfeat_historical") else "present"}


def _context_modifiers(span: Any) -> str:
    """``;negated=true;experiencer=family;historical=false;hypothetical=false;uncertain=false;section=...``."""
    if _flag(span, "ehrfeat_negated") is None:
        return ""
    parts = [f"negated={str(bool(_flag(span, 'ehrfeat_negated'))).lower()}",
             f"experiencer={'family' if _flag(span, 'ehrfeat_family') else 'patient'}"]
    parts += [f"{n}={str(bool(_flag(span, 'ehrfeat_' + n))).lower()}" for n in ("historical", "hypothetical", "uncertain")]
    section = _flag(span, "ehrfeat_section")
    return ";" + ";".join(parts + ([f"section={section}"] if section else []))
