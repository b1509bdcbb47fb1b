"""The base and a trained model mixed in output space, scored as ``ehrfeat evaluate`` scores a model.

Usage: python benchmarks/output_mix.py --base-weight 0.3 [--model hiprbert-mini] [--base minilm]

WiSE-FT (``merge_with_base``) mixes the weights of the base and the trained model; this mixes
their similarities instead: each text's vector is the two unit vectors side by side, scaled by
sqrt(w) and sqrt(1 - w), so the cosine of two texts is ``w * cos_base + (1 - w) * cos_trained``.
It costs two encoders per text (so it is not a model to ship: the throughput bar is 3x the base),
but it answers whether any mixture of the two models' judgements wins the rows neither wins alone.
Prints the ``ehrfeat evaluate --markdown`` table of the mixture against the base, on the model's
held-out set.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ehrfeat.encoders.base import Encoder


class OutputMix:
    """Vectors of ``encoders`` side by side, each unit vector scaled by the square root of its weight."""

    def __init__(self, encoders: Sequence[Encoder], weights: Sequence[float]) -> None:
        if len(encoders) != len(weights) or not np.isclose(sum(weights), 1.0) or min(weights) < 0:
            raise ValueError(f"one non-negative weight per encoder, summing to 1 (got {list(weights)})")
        self.encoders, self.weights = list(encoders), list(weights)

    @property
    def fingerprint(self) -> str:
        return "mix:" + ",".join(f"{w:g}*{e.fingerprint}" for e, w in zip(self.encoders, self.weights, strict=True))

    @property
    def dim(self) -> int:
        return sum(e.dim for e in self.encoders)

    def encode(self, texts: Sequence[str], batch_size: int = 64, show_progress_bar: bool = False, normalize_embeddings: bool = True) -> np.ndarray:
        parts = [np.sqrt(w) * e.encode(list(texts), batch_size=batch_size, normalize_embeddings=True)
                 for e, w in zip(self.encoders, self.weights, strict=True)]
        return np.concatenate(parts, axis=1).astype(np.float32)  # unit length already: the weights sum to 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-weight", type=float, required=True, help="w: the base's share of every cosine (0 to 1)")
    parser.add_argument("--model", default="hiprbert-mini", help="the trained model (its folder holds the held-out set)")
    parser.add_argument("--base", default="minilm")
    args = parser.parse_args(argv)
    if not 0.0 <= args.base_weight <= 1.0:
        parser.error(f"--base-weight {args.base_weight}: the base's share must be between 0 and 1")

    from ehrfeat.evaluation import format_report
    from ehrfeat.models.loader import load_encoder
    from ehrfeat.training.compare import evaluate_models

    base = load_encoder(args.base)
    mix = OutputMix([base, load_encoder(args.model)], [args.base_weight, 1.0 - args.base_weight])
    results = evaluate_models(args.model, encoders={"base": base, "trained": mix})
    sys.stdout.write(format_report(results, markdown=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
