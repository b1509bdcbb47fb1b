"""Term encoders: the protocol, shared batching, and the loaders."""

from __future__ import annotations

from ehrfeat.encoders.base import BatchedEncoder, Encoder, l2_normalize
from ehrfeat.encoders.loader import DEFAULT_MODEL, load_encoder

__all__ = ["DEFAULT_MODEL", "BatchedEncoder", "Encoder", "l2_normalize", "load_encoder"]
