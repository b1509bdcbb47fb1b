"""ONNX export (needs the ``export`` extra: torch, optimum-onnx): the torch side of the ONNX layer.

- :mod:`ehrfeat.export.exporter`: a model folder or checkpoint to ONNX variants, each behind a parity gate.
- :mod:`ehrfeat.export.optimize`: graph optimisation presets (optimum).
- :mod:`ehrfeat.export.ship`: copy an fp16 export into ``ehrfeat/models/<name>/``.

The torch-free runtime that loads the result is :mod:`ehrfeat.onnx`.
"""

from __future__ import annotations

__all__: list[str] = []
