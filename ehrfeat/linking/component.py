"""The ``ehrfeat_linker`` spaCy component: note mentions -> vectors -> nearest codes.

>>> nlp = spacy.blank("en")
>>> nlp.add_pipe("ehrfeat_linker", config={"systems": ["ICD10CM"], "k": 5})
>>> doc = nlp("Patient with type 2 diabetes mellitus and essential hypertension")
>>> [(e.text, e._.ehrfeat_codes[0].code) for e in doc.ents]
[('type 2 diabetes mellitus', 'E11'), ('essential hypertension', 'I10')]

Mentions are the entities an upstream model set (a scispaCy NER, say) or, when
no NER ran, the longest matches of a dictionary of the index's code names and
synonyms. Every mention gets ``Span._.ehrfeat_vector`` (float32, the encoder's
space, the same space as the structured codes) and ``Span._.ehrfeat_codes``
(the top-k :class:`LinkedCode` at or above the threshold, best first; an empty
list when nothing is close enough). Within a batch of ``nlp.pipe`` all mentions
are encoded together, each distinct text once, and searched with one product.

The encoder is loaded on first use, never at import or construction, and is
never pickled: worker processes (``nlp.pipe(n_process=2)``) load their own.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Optional

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans, minibatch
from spacy.vocab import Vocab

from ehrfeat.codes import canonical_system
from ehrfeat.encoders.base import Encoder
from ehrfeat.errors import ConfigError
from ehrfeat.linking.clinical import ClinicalNotes  # registers the context and abbreviation extensions
from ehrfeat.linking.code_index import LinkingIndex, load_index, save_index
from ehrfeat.linking.extensions import LinkedCode, register_extensions
from ehrfeat.linking.mention_vectors import MentionVectors
from ehrfeat.linking.mentions import Abbreviation, DictionaryMatcher, expand_abbreviations, scispacy_detector
from ehrfeat.linking.rerank import RERANK_POOL
from ehrfeat.linking.rerank import rerank as _rerank
from ehrfeat.linking.settings import DEFAULT_CONFIG, DETECT_MODES, LinkerSettings
from ehrfeat.linking.sources import IndexSpec, open_index, parse_index_spec

__all__ = [
    "DEFAULT_CONFIG", "DETECT_MODES", "MENTIONS_KEY", "EhrfeatLinker", "LinkedBatch", "LinkedCode", "LinkerSettings", "make_linker",
    "register_extensions",
]

logger = logging.getLogger(__name__)

MENTIONS_KEY = "ehrfeat_mentions"


@dataclass(frozen=True)
class LinkedBatch:
    """What :meth:`EhrfeatLinker.predict` found in a batch of docs: per doc its mentions with the
    texts to encode, the distinct texts, their vectors (one row each) and their codes."""

    mentions: list[list[tuple[Span, str]]]
    texts: list[str]
    vectors: np.ndarray
    codes: list[list[LinkedCode]]


class EhrfeatLinker:
    """Links mentions to codes by exact cosine top-k over a code-embedding index."""

    def __init__(self, vocab: Vocab, name: str = "ehrfeat_linker", settings: LinkerSettings | None = None, **overrides: Any) -> None:
        """``settings`` (default ``LinkerSettings()``) with any field given by keyword replaced."""
        settings = settings or LinkerSettings()
        self.settings = replace(settings, **overrides) if overrides else settings
        self.vocab = vocab
        self.name = name
        self.spec: IndexSpec = parse_index_spec(self.settings.index)
        self._index: LinkingIndex | None = None
        self._mention_vectors = MentionVectors(self.settings.model)
        self._matcher: DictionaryMatcher | None = None
        self._abbreviations: Callable[[Doc], list[Abbreviation]] | None = None
        self._clinical: Any = None
        self._terms: Any = None

    # -- lazy state -----------------------------------------------------------
    @property
    def encoder(self) -> Encoder:
        """The encoder, loaded on first use (and again in a forked worker process)."""
        return self._mention_vectors.encoder

    def set_encoder(self, encoder: Encoder) -> None:
        """Use an encoder object already in memory (it must match the index)."""
        self._mention_vectors.set_encoder(encoder)

    @property
    def index(self) -> LinkingIndex:
        """The code index, opened (or built, for the built-in one) on first use."""
        if self._index is None:
            self._index = self._checked(open_index(self.spec, self.encoder, self.systems))
            logger.info("linking index: %d codes from %s", len(self._index), self._index.source)
        return self._index

    def _checked(self, index: LinkingIndex) -> LinkingIndex:
        wanted = {canonical_system(s) for s in self.systems}
        if wanted and not wanted & set(index.systems):
            raise ConfigError(
                f"the linker links to {sorted(wanted)}, but its index ({index.source}) holds only {list(index.systems)}",
                fix="set `systems` to systems of the index ([] for all), or use an index of those systems",
                code="E424",
            )
        return index

    def set_index(self, index: LinkingIndex) -> None:
        self._index, self._matcher, self._clinical, self._terms = index, None, None, None
        self._mention_vectors.clear()

    @property
    def matcher(self) -> DictionaryMatcher:
        if self._matcher is None:
            more = self.term_codes.terms if self.settings.rerank else ()
            self._matcher = DictionaryMatcher(self.vocab, [*self.index.terms, *more], label=self.label)
        return self._matcher

    # the settings, read where the component used to keep them one by one
    model = property(lambda self: self.settings.model)
    systems = property(lambda self: self.settings.systems)
    k = property(lambda self: self.settings.k)
    threshold = property(lambda self: self.settings.threshold)
    detect_mentions = property(lambda self: self.settings.detect_mentions)
    labels = property(lambda self: frozenset(self.settings.labels))
    expand_abbreviations = property(lambda self: self.settings.expand_abbreviations)
    label = property(lambda self: self.settings.label)
    batch_size = property(lambda self: self.settings.batch_size)

    @property
    def clinical(self) -> Any:
        """Sections, context, clinical abbreviations and phrase extension (:class:`~ehrfeat.linking.clinical.ClinicalNotes`)."""
        if self._clinical is None:
            self._clinical = ClinicalNotes(self.vocab, self.index.terms)
        return self._clinical

    @property
    def term_codes(self) -> Any:
        """Exact-match lookup of code names and inclusion terms (:class:`~ehrfeat.linking.rerank.TermCodes`)."""
        if self._terms is None:
            from ehrfeat.linking.rerank import term_codes

            self._terms = term_codes(self.index).prepare()
        return self._terms

    def set_abbreviation_detector(self, detector: Callable[[Doc], list[Abbreviation]] | None) -> None:
        """Override how short forms are found (``None``: scispaCy's detector when installed)."""
        self._abbreviations = detector

    # -- processing ------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        self._link([doc])
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        for batch in minibatch(stream, size=batch_size):
            self._link(batch)
            yield from batch

    def find_mentions(self, doc: Doc) -> list[tuple[Span, str]]:
        """The mentions of ``doc``, each with the text to encode.

        ``detect_mentions``: ``"auto"`` uses ``doc.ents`` when an upstream NER ran on the doc
        and the dictionary otherwise; ``"always"`` adds dictionary matches that overlap no
        upstream entity; ``"never"`` links ``doc.ents`` only.

        Where they go: all mentions, in text order, are the span group
        ``doc.spans["ehrfeat_mentions"]`` (:data:`MENTIONS_KEY`); those that overlap no entity
        already in ``doc.ents`` are added to ``doc.ents``. Upstream entities are never removed,
        cut or relabelled.
        """
        settings = self.settings
        clinical = self.clinical if settings.context or settings.clinical_abbreviations or settings.extend_mentions else None
        sections = clinical.sections(doc) if clinical is not None else []
        upstream = doc.has_annotation("ENT_IOB")
        spans = [e for e in doc.ents if not self.labels or e.label_ in self.labels]
        if self.detect_mentions == "always" or (self.detect_mentions == "auto" and not upstream):
            taken = _covered(doc.ents)
            found = [m for m in self.matcher(doc) if not taken.intersection(range(m.start, m.end))]
            if clinical is not None and settings.extend_mentions:
                found = filter_spans(clinical.extend(doc, found, taken))
            spans = sorted([*spans, *found], key=lambda s: s.start)
        abbreviations = self._find_abbreviations(doc) if self.expand_abbreviations else []
        always: list[Abbreviation] = []
        if clinical is not None and settings.clinical_abbreviations:
            defined = {(a.start_char, a.end_char) for a in abbreviations}
            always = [a for a in clinical.find_abbreviations(doc, sections) if (a.start_char, a.end_char) not in defined]
        mentions = expand_abbreviations(doc, spans, [*abbreviations, *always], self.label, always=always)
        if clinical is not None and settings.context:
            clinical.annotate(doc, [span for span, _ in mentions], sections)
        doc.spans[MENTIONS_KEY] = [span for span, _ in mentions]
        taken = _covered(doc.ents)
        new = [span for span, _ in mentions if not taken.intersection(range(span.start, span.end))]
        if new:
            doc.set_ents(new, default="unmodified")
        return mentions

    def _link(self, docs: Sequence[Doc]) -> None:
        found = self.predict(docs)
        if found is not None:
            self.set_annotations(docs, found)

    def predict(self, docs: Sequence[Doc]) -> LinkedBatch | None:
        """The mentions of ``docs`` (see :meth:`find_mentions`) and the codes of their distinct texts.

        All the batch's mention texts are encoded in one call (each distinct text once, the
        encoder sorts them by length) and searched with one matrix product. ``None``: no mention.
        """
        for doc in docs:
            if not len(doc):  # an empty note has the (empty) group like any note without mentions
                doc.spans[MENTIONS_KEY] = []
        if not any(len(doc) for doc in docs):
            return None
        mentions = [self.find_mentions(doc) if len(doc) else [] for doc in docs]
        texts = list(dict.fromkeys(text for found in mentions for _, text in found))
        if not texts:
            return None
        vectors = self._encode(texts)
        return LinkedBatch(mentions, texts, vectors, self._codes(texts, vectors))

    def set_annotations(self, docs: Sequence[Doc], batch: LinkedBatch) -> None:
        """Set ``Span._.ehrfeat_vector`` and ``Span._.ehrfeat_codes`` of every mention of ``batch``."""
        row_of = {t: i for i, t in enumerate(batch.texts)}
        for found in batch.mentions:
            for span, text in found:
                i = row_of[text]
                span._.ehrfeat_vector = batch.vectors[i].copy()
                span._.ehrfeat_codes = batch.codes[i]

    def _codes(self, texts: Sequence[str], vectors: np.ndarray) -> list[list[LinkedCode]]:
        """The top-k codes of each text: one search of all ``vectors``, then the reranking of each text."""
        rerank = self.settings.rerank
        wide = max(self.k, RERANK_POOL) if rerank else self.k
        scores, rows = self.index.search(vectors, wide, systems=self.systems or None)
        emb = self.index.embeddings
        systems = set(self.systems)
        codes: list[list[LinkedCode]] = []
        for i, text in enumerate(texts):
            if rerank:
                exact = [r for r in self.term_codes.rows(text) if not systems or emb.codes[r].system in systems]
                overlap = self.term_codes.overlap(text, rows[i])
                ranked = _rerank(exact, scores[i], rows[i], vectors[i], emb.matrix, self.k, overlap)
                keep = [(r, s) for r, s in ranked if r in exact or s >= self.threshold]
            else:
                keep = [(int(r), float(s)) for s, r in zip(scores[i], rows[i], strict=True) if np.isfinite(s) and s >= self.threshold]
            codes.append([LinkedCode(emb.codes[r].system, emb.codes[r].code, emb.texts[r], round(s, 6)) for r, s in keep])
        return codes

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Vectors of ``texts``; each distinct text is encoded once per process (a bounded cache)."""
        return self._mention_vectors.encode(texts, self.index, self.batch_size)

    def _find_abbreviations(self, doc: Doc) -> list[Abbreviation]:
        if self._abbreviations is None:
            self._abbreviations = scispacy_detector(self.vocab)
        return self._abbreviations(doc)

    # -- serialisation -----------------------------------------------------------
    def to_disk(self, path: str | os.PathLike[str], *, exclude: Iterable[str] = ()) -> None:
        """Write the code index (vectors, descriptions, dictionary terms) into the pipeline folder."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_index(self.index, path / "index")

    def from_disk(self, path: str | os.PathLike[str], *, exclude: Iterable[str] = ()) -> EhrfeatLinker:
        folder = Path(path) / "index"
        if folder.is_dir():
            self.set_index(self._checked(load_index(folder)))
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_matcher=None, _abbreviations=None, _clinical=None, _terms=None)  # the encoder: MentionVectors
        return state


def _covered(spans: Iterable[Span]) -> set[int]:
    return {i for span in spans for i in range(span.start, span.end)}


def make_linker(nlp: Language, name: str, **config: Any) -> EhrfeatLinker:
    """spaCy factory of :class:`EhrfeatLinker` (registered also as a ``spacy_factories`` entry point)."""
    return EhrfeatLinker(nlp.vocab, name, LinkerSettings(**config))


# spaCy validates a component's config against its factory's signature: derive it from the settings
_TYPES = {"model": Optional[str], "systems": list[str], "index": dict[str, Any], "labels": list[str]}  # noqa: UP045
make_linker.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [inspect.Parameter("nlp", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Language),
     inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str)]
    + [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=_TYPES.get(f.name, type(DEFAULT_CONFIG[f.name])))
       for f in fields(LinkerSettings)],
    return_annotation=EhrfeatLinker,
)
Language.factory("ehrfeat_linker", default_config=DEFAULT_CONFIG, func=make_linker)
