"""Linking accuracy on held-out ICD-10-CM inclusion terms, before and after reranking.

Usage: python benchmarks/inclusion_terms.py [--terms 2000] [--model M] [--seed 0] [--tune]

The ICD-10-CM inclusion terms and synonyms (simple-icd-10-cm) are split in two by a
hash of the term: one half is the reranker's dictionary, the other half is held out
(``test``). Each held-out term, written as a note would (its shortest variant:
"Congestive heart failure NOS" -> "Congestive heart failure"), is linked against the
built-in index (codes up to 4 characters; the gold code is the term's code or its
ancestor in the index):

- ``before``: cosine top-1 (the linker without reranking);
- ``after_exact``: the first reranker: exact name/inclusion-term matches of the dictionary
  half first, then cosine (the dictionary without deeper code names, as first measured);
- ``after``: the linker's reranker (:mod:`ehrfeat.linking.rerank`) with what the linker knows
  but the held-out terms: every code name at every depth and the dictionary half; exact
  matches first, the other candidates by cosine + ``OVERLAP_WEIGHT`` x word overlap;
- ``after_all_terms``: the reranker with every inclusion term, the held-out ones included:
  not a held-out figure, it shows what the lookup gives for terms it knows (as in notes).

``dev``: the pool and weight of the reranker were chosen on a development split carved
from the dictionary half (a second hash; the reranker then knows the rest of that half):
``--tune`` prints that grid. The held-out terms never choose anything.
Accuracy@1 is given for the full code and for the category (first three characters).
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GRID = [(pool, weight) for pool in (10, 20, 50, 100) for weight in (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5)]


def _held_out(term: str) -> bool:
    return hashlib.sha256(term.lower().encode()).digest()[0] % 2 == 0


def _dev(term: str) -> bool:
    return hashlib.sha256(term.lower().encode()).digest()[1] % 4 == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", type=int, default=2000, help="held-out terms to score (a seeded sample)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tune", action="store_true", help="print the dev grid of pool x weight")
    args = parser.parse_args()

    from ehrfeat.linking.rerank import OVERLAP_WEIGHT, RERANK_POOL, TermCodes, rerank
    from ehrfeat.linking.sources import IndexSpec, builtin_vocabulary, open_index
    from ehrfeat.linking.terms import term_variants
    from ehrfeat.models.loader import load_encoder

    encoder = load_encoder(args.model)
    index = open_index(IndexSpec("builtin"), encoder, ["ICD10CM"])
    vocabulary = builtin_vocabulary(["ICD10CM"], max_code_length=7)
    pairs = [(c.ref, t) for c in vocabulary for t in c.terms if t != c.name]
    named = [(c.ref, c.name) for c in vocabulary]
    known = TermCodes(index, [(code, t) for code, t in pairs if not _held_out(t)])
    linker_like = TermCodes(index, named + [(code, t) for code, t in pairs if not _held_out(t)])
    dev_lookup = TermCodes(index, named + [(code, t) for code, t in pairs if not _held_out(t) and not _dev(t)])
    everything = TermCodes(index, named + pairs)
    names = {t.lower() for t in index.embeddings.texts}

    def sample(chosen: object, lookup: TermCodes, seed: int) -> list[tuple[str, int]]:
        out = []
        for code, term in pairs:
            query, row = term_variants(term)[-1], lookup.row_of(code)
            if chosen(term) and row is not None and query.lower() not in names:  # type: ignore[operator]
                out.append((query, row))
        out = list(dict.fromkeys(out))
        random.Random(seed).shuffle(out)
        return out[: args.terms]

    held = sample(_held_out, known, args.seed)
    dev = sample(lambda t: not _held_out(t) and _dev(t), dev_lookup, args.seed + 1)
    started = time.perf_counter()
    codes, matrix = index.embeddings.codes, index.embeddings.matrix

    def score(queries: list[tuple[str, int]], lookups: dict[str, tuple[TermCodes | None, int, float]]) -> dict[str, dict[str, float]]:
        vectors = encoder.encode([q for q, _ in queries], batch_size=64)
        scores, rows = index.search(vectors, max(p for _, p, _ in lookups.values()))
        out = {}
        for name, (lookup, pool, weight) in lookups.items():
            full = category = 0
            for i, (query, gold) in enumerate(queries):
                if lookup is None:
                    top = int(rows[i][0])
                else:
                    s, r = scores[i][:pool], rows[i][:pool]
                    overlap = lookup.overlap(query, r) if weight else None
                    top = rerank(lookup.rows(query), s, r, vectors[i], matrix, 1, overlap, weight)[0][0]
                full += top == gold
                category += codes[top].code[:3] == codes[gold].code[:3]
            out[name] = {"code_accuracy_at_1": round(full / len(queries), 4), "category_accuracy_at_1": round(category / len(queries), 4)}
        return out

    if args.tune:
        grid = score(dev, {f"pool={p} weight={w}": (dev_lookup, p, w) for p, w in GRID})
        for name, result in grid.items():
            print(name, result, file=sys.stderr)
    dev_result = score(dev, {"before": (None, 1, 0.0), "after": (dev_lookup, RERANK_POOL, OVERLAP_WEIGHT)})
    result = score(held, {"before": (None, 1, 0.0), "after_exact": (known, 10, 0.0),
                          "after": (linker_like, RERANK_POOL, OVERLAP_WEIGHT),
                          "after_all_terms": (everything, RERANK_POOL, OVERLAP_WEIGHT)})
    print(json.dumps({
        "benchmark": "inclusion_terms", "encoder": encoder.fingerprint, "index_codes": len(index),
        "inclusion_terms": len(pairs), "held_out_scored": len(held), "dev_scored": len(dev),
        "rerank_pool": RERANK_POOL, "overlap_weight": OVERLAP_WEIGHT, **result, "dev": dev_result,
        "elapsed_s": round(time.perf_counter() - started, 2),
        "exact_hits_held_out": sum(bool(linker_like.rows(q)) for q, _ in held),
    }))


if __name__ == "__main__":
    main()
