"""Linking note mentions to codes: the ``ehrfeat_linker`` spaCy component and its code index.

Importing this package does not import spaCy; ``ehrfeat.linking.component`` does
(spaCy finds it through the ``spacy_factories`` entry point).
"""

from __future__ import annotations

from ehrfeat.linking.code_index import LinkingIndex, build_index, index_from_embeddings, load_index, save_index
from ehrfeat.linking.sources import IndexSpec, builtin_vocabulary, cache_dir, open_index, parse_index_spec

__all__ = [
    "IndexSpec",
    "LinkingIndex",
    "build_index",
    "builtin_vocabulary",
    "cache_dir",
    "index_from_embeddings",
    "load_index",
    "open_index",
    "parse_index_spec",
    "save_index",
]
