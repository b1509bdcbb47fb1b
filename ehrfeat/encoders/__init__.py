"""Term encoders: the ``Encoder`` protocol, shared batching, pooling and the torch reference encoder.

Loading an encoder by name lives in :mod:`ehrfeat.models`.
"""

from __future__ import annotations

from ehrfeat.encoders.base import BatchedEncoder, Encoder, l2_normalize

__all__ = ["BatchedEncoder", "Encoder", "l2_normalize"]
