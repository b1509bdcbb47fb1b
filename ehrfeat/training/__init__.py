"""Training of HiPrBERT term encoders (needs the ``train`` extra: torch, transformers)."""

from __future__ import annotations

__all__: list[str] = []
