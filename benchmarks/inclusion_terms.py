"""Linking accuracy on held-out ICD-10-CM inclusion terms, before and after exact-match reranking.

Usage: python benchmarks/inclusion_terms.py [--terms 2000] [--model M] [--seed 0]

The ICD-10-CM inclusion terms and synonyms (simple-icd-10-cm) are split in two by a
hash of the term: one half is the reranker's dictionary (:class:`ehrfeat.linking.rerank.TermCodes`,
with every code name), the other half is held out. Each held-out term, written as a
note would (its shortest variant: "Congestive heart failure NOS" -> "Congestive heart
failure"), is linked against the built-in index (codes up to 4 characters; the gold code
is the term's code or its ancestor in the index):

- ``before``: cosine top-1 (the linker without reranking);
- ``after``: the reranker with the dictionary half (exact name/inclusion-term matches first);
- ``after_all_terms``: the reranker with every inclusion term, the held-out ones included:
  not a held-out figure, it shows what the lookup gives for terms it knows (as in notes).

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


def _held_out(term: str) -> bool:
    return hashlib.sha256(term.lower().encode()).digest()[0] % 2 == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", type=int, default=2000, help="held-out terms to score (a seeded sample)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import numpy as np

    from ehrfeat.linking.rerank import TermCodes, rerank
    from ehrfeat.linking.sources import IndexSpec, builtin_vocabulary, open_index
    from ehrfeat.linking.terms import term_variants
    from ehrfeat.models.loader import load_encoder

    encoder = load_encoder(args.model)
    index = open_index(IndexSpec("builtin"), encoder, ["ICD10CM"])
    vocabulary = builtin_vocabulary(["ICD10CM"], max_code_length=7)
    pairs = [(c.ref, t) for c in vocabulary for t in c.terms if t != c.name]
    known = TermCodes(index, [(code, t) for code, t in pairs if not _held_out(t)])
    everything = TermCodes(index, pairs)
    names = {t.lower() for t in index.embeddings.texts}
    held = []
    for code, term in pairs:
        query = term_variants(term)[-1]
        row = known.row_of(code)
        if _held_out(term) and row is not None and query.lower() not in names:
            held.append((query, row))
    held = list(dict.fromkeys(held))
    random.Random(args.seed).shuffle(held)
    held = held[: args.terms]

    started = time.perf_counter()
    vectors = encoder.encode([q for q, _ in held], batch_size=64)
    scores, rows = index.search(vectors, 10)
    codes = index.embeddings.codes
    result: dict[str, dict[str, float]] = {}
    for name, lookup in (("before", None), ("after", known), ("after_all_terms", everything)):
        full = category = 0
        for i, (query, gold) in enumerate(held):
            if lookup is None:
                top = int(rows[i][0])
            else:
                top = rerank(lookup.rows(query), scores[i], rows[i], vectors[i], index.embeddings.matrix, 1)[0][0]
            full += top == gold
            category += codes[top].code[:3] == codes[gold].code[:3]
        result[name] = {"code_accuracy_at_1": round(full / len(held), 4), "category_accuracy_at_1": round(category / len(held), 4)}
    print(json.dumps({
        "benchmark": "inclusion_terms", "encoder": encoder.fingerprint, "index_codes": len(index),
        "inclusion_terms": len(pairs), "held_out_scored": len(held), "dictionary_terms": len(known),
        **result, "elapsed_s": round(time.perf_counter() - started, 2),
        "exact_hits_held_out": int(np.mean([bool(known.rows(q)) for q, _ in held]) * len(held)),
    }))


if __name__ == "__main__":
    main()
