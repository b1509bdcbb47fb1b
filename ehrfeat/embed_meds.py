"""``embed-codes`` on a MEDS dataset: every distinct code string gets a vector, written to parquet.

``embed_meds_codes("meds/")`` reads the shards once (batch by batch), resolves a
text for each distinct code (codes.parquet description, a built-in dictionary for a
code system its path names, readable words in the path; see
:mod:`ehrfeat.store.meds.codes`), encodes the codes not yet in the output file for
this encoder, and writes ``metadata/ehrfeat_code_embeddings.parquet`` (or ``out``)
atomically every ``checkpoint`` codes and at the end: a killed run loses at most the
codes since the last checkpoint, and a re-run embeds only what is missing. The
user's ``codes.parquet`` is rewritten (atomically) only with ``update_codes=True``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ehrfeat.codes import canonical_system
from ehrfeat.embed import in_batches
from ehrfeat.embed_report import CodeRunReport
from ehrfeat.encoders.base import Encoder
from ehrfeat.errors import InputError
from ehrfeat.paths import check_output_file, parquet_has_columns
from ehrfeat.reasons import ReasonCounter
from ehrfeat.report import write_json
from ehrfeat.store.meds.code_rules import load_code_rules
from ehrfeat.store.meds.code_vectors import MedsCodeVectors, read_code_vectors, update_code_metadata, write_code_vectors
from ehrfeat.store.meds.codes import UNRESOLVED, MedsCode, distinct_meds_codes, resolve_meds_texts
from ehrfeat.store.meds.dataset import MedsReadReport, open_meds

__all__ = ["MedsEmbedReport", "embed_meds_codes"]

logger = logging.getLogger(__name__)



@dataclass(frozen=True, kw_only=True)
class MedsEmbedReport(CodeRunReport):
    """What one run did; ``by_source`` counts every distinct code once, by text source and system."""

    meds_dir: str
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)
    read_issues: dict[str, int] = field(default_factory=dict)
    read_lines: tuple[str, ...] = ()
    rows_read: int = 0
    shards: int = 0
    codes_file: str | None = None
    unresolved_codes: dict[str, list[str]] = field(default_factory=dict)  # every unresolved code, by reason (--report)

    def to_json(self) -> dict[str, object]:
        """The report as plain values (``--report``); embedded codes' sources are in the parquet's ``text_source``."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    def write_json(self, path: str | Path) -> None:
        write_json(path, self.to_json(), code="E1518")

    @property
    def text_sources(self) -> dict[str, int]:
        return {source: sum(systems.values()) for source, systems in self.by_source.items()}

    def lines(self) -> list[str]:
        out = self._start(("MEDS dataset", f"{self.meds_dir} ({self.shards} shards, {self.rows_read} rows)"))
        details = {source: ", ".join(f"{s} {n}" for s, n in sorted(systems.items(), key=lambda kv: -kv[1]))
                   for source, systems in self.by_source.items()}
        out.text("text found by (every distinct code once):").reasons(self.text_sources, by_count=True, details=details)
        out.reasons(self.unresolved, self.unresolved_examples, tag="unresolved")
        if self.read_lines:
            out.text("reading the shards:", *self.read_lines)
        out.fields([("encoder", self.fingerprint), ("written to", self.target)])
        if self.codes_file:
            out.field("codes metadata", f"{self.codes_file} (rewritten with --update-codes)")
        return out.field("elapsed", f"{self.elapsed_s:.1f} s").lines


def embed_meds_codes(
    meds_dir: str | Path,
    *,
    model: str | Path | None = None,
    encoder: Encoder | None = None,
    batch_size: int = 256,
    out: str | Path | None = None,
    code_rules: str | Path | None = None,
    systems: Sequence[str] | None = None,
    update_codes: bool = False,
    checkpoint: int = 8192,
    show_progress_bar: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
) -> MedsEmbedReport:
    """Embed the distinct codes of the MEDS dataset ``meds_dir`` into a parquet file (see the module doc)."""
    started = time.perf_counter()
    dataset = open_meds(meds_dir)
    rules = load_code_rules(code_rules)
    target = Path(out) if out is not None else dataset.embeddings_path
    if out is None:
        target.parent.mkdir(exist_ok=True)  # metadata/ is optional in MEDS
    elif not target.parent.is_dir():
        raise InputError(f"folder {target.parent} does not exist", fix=f"mkdir -p {target.parent}", code="E1510")
    check_output_file(target, "code-vector file", ours=lambda p: parquet_has_columns(p, ("code", "text", "vector")))
    read = MedsReadReport()
    found = resolve_meds_texts(distinct_meds_codes(dataset, read), dataset.descriptions(), rules)
    if systems:
        wanted = {canonical_system(s) for s in systems}
        found = [c for c in found if c.system in wanted]
    if encoder is None:
        from ehrfeat.models.loader import load_encoder

        encoder = load_encoder(model)
    existing = _existing(target, encoder.fingerprint)
    cached = set(existing.codes) if existing is not None else set()
    todo = [c for c in found if c.text and c.code not in cached]
    todo.sort(key=lambda c: (-len(c.text or ""), c.code))
    vectors = _encode(target, encoder, existing, todo, batch_size, checkpoint, show_progress_bar, on_batch, str(model or "default"))
    codes_file = None
    if update_codes:
        codes_file = str(update_code_metadata(dataset.codes_path, vectors, [c.code for c in found]))
    by_source: dict[str, Counter[str]] = {}
    unresolved = ReasonCounter()
    every: dict[str, list[str]] = {}
    for c in found:
        by_source.setdefault(c.text_source, Counter())[c.system or "-"] += 1
        if c.text_source == UNRESOLVED and c.reason:
            unresolved.add(c.reason, 1, c.code)
            every.setdefault(c.reason, []).append(c.code)
    return MedsEmbedReport(
        meds_dir=str(dataset.root), target=str(target), fingerprint=encoder.fingerprint, codes_found=len(found),
        embedded_now=len(todo), already_cached=sum(1 for c in found if c.code in cached),
        by_source={k: dict(v) for k, v in by_source.items()}, unresolved=dict(unresolved), unresolved_examples=unresolved.examples,
        read_issues=read.counts(), read_lines=tuple(read.lines()), rows_read=read.rows_read, shards=read.shards,
        codes_file=codes_file, elapsed_s=time.perf_counter() - started, unresolved_codes=every,
    )


def _existing(target: Path, fingerprint: str) -> MedsCodeVectors | None:
    if not target.exists():
        return None
    existing = read_code_vectors(target)
    if existing.fingerprint != fingerprint:
        raise InputError(
            f"{target} holds code vectors of another encoder ({existing.fingerprint}); one file holds one encoder",
            fix="write this encoder's vectors elsewhere with --out FILE.parquet, or delete the file to replace them",
            code="E1507",
        )
    return existing


def _encode(
    target: Path, encoder: Encoder, existing: MedsCodeVectors | None, todo: list[MedsCode], batch_size: int,
    checkpoint: int, show_progress_bar: bool, on_batch: Callable[[int, int], None] | None, model_name: str,
) -> MedsCodeVectors:
    codes = list(existing.codes) if existing else []
    texts = list(existing.texts) if existing else []
    sources = list(existing.sources) if existing else []
    systems = list(existing.systems) if existing else []
    blocks = [existing.matrix] if existing is not None and len(existing) else []
    dim = existing.dim if existing is not None else int(encoder.dim)

    def current() -> MedsCodeVectors:
        matrix = np.concatenate(blocks) if blocks else np.zeros((0, dim), np.float32)
        return MedsCodeVectors(encoder.fingerprint, tuple(codes), tuple(texts), tuple(sources), tuple(systems),
                               matrix, model_name)

    since = 0
    for batch in in_batches(todo, batch_size, show_progress_bar, on_batch):
        matrix = np.asarray(encoder.encode([c.text or "" for c in batch], batch_size=batch_size), np.float32)
        if not np.isfinite(matrix).all():
            raise InputError("the encoder returned non-finite values; nothing of this batch was written", code="E1515")
        dim = matrix.shape[1]
        blocks.append(matrix)
        codes.extend(c.code for c in batch)
        texts.extend(c.text or "" for c in batch)
        sources.extend(c.text_source for c in batch)
        systems.extend(c.system for c in batch)
        since += len(batch)
        if since >= checkpoint:
            write_code_vectors(target, current())
            since = 0
    result = current()
    if todo or existing is None:
        write_code_vectors(target, result)
    return result
