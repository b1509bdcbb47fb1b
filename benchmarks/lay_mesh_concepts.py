"""Lay MeSH queries split by the MeSH concept their entry term belongs to, base against a model.

Usage: python benchmarks/lay_mesh_concepts.py [--model hiprbert-mini] [--terms ../shared/data/mesh/mesh_terms.tsv]

The MeSH reader makes every entry term of every concept under a descriptor a synonym of the
descriptor, so the ``lay_mesh`` row of ``ehrfeat evaluate`` asks for two things: entry terms of
the descriptor's preferred concept (true synonyms: "B-Cell Chronic Lymphocytic Leukemia") and
entry terms of its other concepts (narrower or related ones: "Abortion Rate" under "Abortion,
Induced"). This prints, in one JSON line, acc@1 and acc@3 of the base and of ``--model`` on each
part of the model's held-out lay MeSH task, with the paired bootstrap interval of the delta
(``ehrfeat evaluate``'s own: 1,000 resamples of the queries, seed 0, the row's generator, so the
``all`` part reproduces the ``lay_mesh`` rows), and the queries each model alone finds in its top 3.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_TERMS = Path(__file__).resolve().parents[2] / "shared" / "data" / "mesh" / "mesh_terms.tsv"


def query_parts(terms_tsv: Path, queries: tuple[tuple[str, str], ...]) -> np.ndarray:
    """'preferred' or 'other' per (entry term, descriptor) query: is the term one of the descriptor's preferred concept."""
    from ehrfeat.vocab.readers._io import read_delimited, require_file

    preferred: dict[str, str] = {}
    concepts: dict[tuple[str, str], set[str]] = {}
    path = require_file(terms_tsv, "MeSH terms TSV")
    for row in read_delimited(path, ["DescriptorUI", "ConceptUI", "TermName", "RecordPreferredTermYN"], delimiter="\t"):
        if row["RecordPreferredTermYN"] == "Y":
            preferred[row["DescriptorUI"]] = row["ConceptUI"]
        concepts.setdefault((row["DescriptorUI"], row["TermName"].strip().lower()), set()).add(row["ConceptUI"])
    return np.array(["preferred" if preferred.get(code) in concepts.get((code, q.lower()), set()) else "other" for q, code in queries])


def compare(base: np.ndarray, trained: np.ndarray, metric: str) -> dict[str, object]:
    """Means of two 0/1 hit vectors and the paired bootstrap interval of their delta, as ``ehrfeat evaluate`` gives row ``metric``'s."""
    from ehrfeat.evaluation.bootstrap import BootstrapSettings, hits_difference

    low, high = hits_difference(base, trained, BootstrapSettings(), metric)
    return {"base": round(float(base.mean()), 4), "trained": round(float(trained.mean()), 4),
            "delta": round(float(trained.mean() - base.mean()), 4), "ci95": [round(low, 4), round(high, 4)]}


def main() -> None:
    from ehrfeat.errors import EhrfeatError

    try:
        run()
    except EhrfeatError as exc:  # a bad --terms or --model: the message and its fix, exit status 2, no traceback
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="hiprbert-mini", help="a model name or folder holding its held-out set")
    parser.add_argument("--base", default="minilm")
    parser.add_argument("--terms", type=Path, default=DEFAULT_TERMS, help="MeSH terms TSV (with ConceptUI, RecordPreferredTermYN)")
    args = parser.parse_args()

    from ehrfeat.evaluation.linking import linking_hits
    from ehrfeat.models.loader import load_encoder
    from ehrfeat.training.compare import load_evalset

    task = next(t for t in load_evalset(args.model).lay if t.name == "mesh")
    parts = query_parts(args.terms, task.queries)
    hits = {name: linking_hits(load_encoder(model), task, ks=(1, 3)) for name, model in (("base", args.base), ("trained", args.model))}
    out: dict[str, object] = {"benchmark": "lay_mesh_concepts", "model": args.model, "queries": len(task.queries)}
    for part in ("preferred", "other", "all"):
        keep = np.ones(len(parts), bool) if part == "all" else parts == part
        out[part] = {"queries": int(keep.sum())} | {f"acc@{k}": compare(hits["base"][k][keep], hits["trained"][k][keep], f"lay_mesh@{k}") for k in (1, 3)}
    top3 = hits["trained"][3] - hits["base"][3]
    out["top3_only_base"], out["top3_only_trained"] = int((top3 < 0).sum()), int((top3 > 0).sum())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
