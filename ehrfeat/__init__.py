"""ehrfeat: semantic embeddings of EHR codes and note mentions (HiPrBERT)."""

from __future__ import annotations

from ehrfeat.codes import Code, canonical_system, normalize_code
from ehrfeat.encoders import Encoder
from ehrfeat.errors import EhrfeatError
from ehrfeat.models import load_encoder

__all__ = ["Code", "EhrfeatError", "Encoder", "__version__", "canonical_system", "load_encoder", "normalize_code"]

__version__ = "0.1.0"
