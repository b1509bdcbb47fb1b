"""The settings of the ``ehrfeat_linker`` component, stated once (no spaCy import).

:class:`LinkerSettings` checks its values when made; the spaCy factory's default
config is ``LinkerSettings().spacy_config()`` (:data:`DEFAULT_CONFIG`) and its
signature, which spaCy validates configs against, is derived from the fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ehrfeat.errors import ConfigError

__all__ = ["DEFAULT_CONFIG", "DETECT_MODES", "LinkerSettings"]

DETECT_MODES = ("auto", "always", "never")


@dataclass(frozen=True)
class LinkerSettings:
    """The linker's settings, each stated once: the spaCy factory's defaults are :meth:`spacy_config` of ``LinkerSettings()``.

    ``model``: the encoder (``None``: the default); ``systems``: the code systems to link to (empty: all
    of the index's); ``index``: where the code index comes from (see :mod:`ehrfeat.linking.sources`);
    ``k``: codes kept per mention; ``threshold``: the lowest cosine kept; ``detect_mentions``: see
    :meth:`EhrfeatLinker.find_mentions`; ``labels``: upstream entity labels to link (empty: all);
    ``expand_abbreviations``: encode a defined short form as its long form; ``label``: the label of
    dictionary mentions; ``batch_size``: the encoder's batch size; ``context``: set the ConText flags
    and section of every mention (:mod:`ehrfeat.linking.context`); ``clinical_abbreviations``: find
    the clinical short forms of :mod:`ehrfeat.linking.abbreviations` (T2DM, HTN, ...);
    ``extend_mentions``: grow dictionary matches over the index words before them ("breast cancer");
    ``rerank``: codes whose name or inclusion term is the mention come first (:mod:`ehrfeat.linking.rerank`).
    """

    model: str | None = None
    systems: tuple[str, ...] = ("ICD10CM",)
    index: Mapping[str, Any] = field(default_factory=dict)
    k: int = 5
    threshold: float = 0.5
    detect_mentions: str = "auto"
    labels: tuple[str, ...] = ()
    expand_abbreviations: bool = True
    label: str = "ENTITY"
    batch_size: int = 64
    context: bool = True
    clinical_abbreviations: bool = True
    extend_mentions: bool = True
    rerank: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "systems", tuple(self.systems))
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "index", dict(self.index or {}))
        object.__setattr__(self, "threshold", float(self.threshold))
        if self.k < 1:
            raise ConfigError(f"k must be >= 1, got {self.k}", code="E420")
        if not -1.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold is a cosine, between -1 and 1; got {self.threshold}", code="E421")
        if self.detect_mentions not in DETECT_MODES:
            raise ConfigError(f"detect_mentions must be one of {DETECT_MODES}, got {self.detect_mentions!r}", code="E422")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}", code="E423")

    def spacy_config(self) -> dict[str, Any]:
        """These settings as a spaCy component config (lists where spaCy's config wants lists)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: list(v) if isinstance(v, tuple) else (dict(v) if isinstance(v, Mapping) else v) for k, v in out.items()}


DEFAULT_CONFIG: dict[str, Any] = LinkerSettings().spacy_config()
