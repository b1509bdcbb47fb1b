"""One way to draw distinct codes from a pool: a bounded number of tries, each accepted or not.

Random partners of a tree anchor and its shared-qualifier negatives are drawn alike: up to
``8 n`` draws, keeping the first ``n`` distinct codes that ``accept`` lets through. Torch-free.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

__all__ = ["draw_distinct"]


def draw_distinct(pool: Sequence[str], n: int, rng: random.Random, accept: Callable[[str], bool]) -> list[str]:
    """Up to ``n`` distinct codes of ``pool`` that ``accept`` takes, in the order drawn."""
    picked: dict[str, None] = {}
    if n <= 0 or not pool:
        return []
    for _ in range(n * 8):
        if len(picked) >= n:
            break
        cand = rng.choice(pool)
        if accept(cand):
            picked[cand] = None
    return list(picked)
