"""Where a trained model's pooled hierarchy rows come from: each source's pairs.

Usage: python benchmarks/pooled_sources.py [--model hiprbert-mini] [--base minilm]

The pooled AUCs (``auc_0v1``, ``auc_0v2``, ``auc_1v2`` of ``ehrfeat evaluate``) rank every
held-out pair of every source on one cosine scale: HPO and MeSH synonyms, PheCode's codes of
one phecode, ICD-10-CM's encounter variants and ICD-9-CM's siblings all meet in one ordering.
A source can move a pooled row without moving its own: its category-1 pairs rising past
another source's synonyms cost the pooled 0v1 even when its own 1v3 is unchanged.

For each pooled row and each source with pairs in it, the script prints the source's pairs
in the two categories, their mean cosine under base and trained model, and what the pooled
AUC would be if that source's pairs kept the base's cosines while every other pair kept the
trained model's (``pooled_if_at_base``): ``trained - pooled_if_at_base`` is the source's
share of the row's change (the shares need not add up: AUC is not additive). Held-out set:
the model's own (``ehrfeat_heldout.json``). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROWS = ((0, 1), (0, 2), (1, 2))


def pooled_shares(base: np.ndarray, trained: np.ndarray, cats: np.ndarray, sources: np.ndarray) -> dict[str, Any]:
    """Per pooled row: base and trained AUC, and each source's pairs, mean cosines and ``pooled_if_at_base``."""
    from ehrfeat.evaluation.metrics import roc_auc

    def auc(cos: np.ndarray, lo: int, hi: int) -> float:
        return round(roc_auc(cos[cats == lo], cos[cats == hi]), 4)

    def mean(cos: np.ndarray, mask: np.ndarray) -> float | None:
        return round(float(cos[mask].mean()), 4) if mask.any() else None

    rows: dict[str, Any] = {}
    for lo, hi in ROWS:
        if not ((cats == lo).any() and (cats == hi).any()):
            continue
        by_source: dict[str, Any] = {}
        for source in sorted(set(sources[(cats == lo) | (cats == hi)].tolist())):
            mine = sources == source
            what_if = trained.copy()
            what_if[mine] = base[mine]
            by_source[source] = {
                f"pairs_{lo}": int((mine & (cats == lo)).sum()), f"pairs_{hi}": int((mine & (cats == hi)).sum()),
                **{f"{label}_mean_{c}": mean(cos, mine & (cats == c)) for label, cos in (("base", base), ("trained", trained)) for c in (lo, hi)},
                "pooled_if_at_base": auc(what_if, lo, hi),
            }
        rows[f"auc_{lo}v{hi}"] = {"base": auc(base, lo, hi), "trained": auc(trained, lo, hi), "by_source": by_source}
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from ehrfeat.evaluation.heldout import EvalSet, score_encoder
    from ehrfeat.models.loader import load_encoder
    from ehrfeat.training.compare import load_evalset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="hiprbert-mini")
    ap.add_argument("--base", default="minilm")
    args = ap.parse_args(argv)

    pairs = EvalSet(load_evalset(args.model).pairs, ())  # the pairs only: no synonym or linking queries to encode
    scores = {label: score_encoder(load_encoder(model), pairs)[1] for label, model in (("base", args.base), ("trained", args.model))}
    base, trained = scores["base"], scores["trained"]
    out: dict[str, Any] = {"benchmark": "pooled_sources", "model": str(args.model), "base": str(args.base), "held_out_pairs": len(pairs.pairs)}
    out["rows"] = pooled_shares(base.cos, trained.cos, trained.cats, trained.sources)
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
