"""Mention -> code accuracy of the linker: held-out ICD-10-CM inclusion terms and HPO exact synonyms.

Usage: python benchmarks/linking_accuracy.py [--n 1000] [--seed 0] [--max-code-length 4] [--model M ...]

The index holds only the preferred names of ICD-10-CM codes (up to
``--max-code-length`` characters, as the linker's default index) and of all HPO
terms; the queries are synonyms, never in the index, each with its own code as
the answer, searched within its own system. Prints one JSON line with acc@1 and
acc@5 per system, for the base encoder and each ``--model`` (a trained
checkpoint or ONNX export), side by side.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def queries(vocabulary, systems: list[str], n: int, seed: int) -> dict[str, list[tuple[str, object]]]:  # type: ignore[no-untyped-def]
    """Up to ``n`` (synonym, code) pairs per system; synonyms equal to any preferred name are left out."""
    names = {c.name.casefold() for c in vocabulary}
    rng = random.Random(seed)
    out = {}
    for system in systems:
        pairs = [(s, c.ref) for c in vocabulary.concepts(system) for s in c.synonyms if s.casefold() not in names]
        rng.shuffle(pairs)
        out[system] = pairs[:n]
    return out


def evaluate(model: str | None, vocabulary, pairs, max_code_length: int) -> dict:  # type: ignore[no-untyped-def]
    from ehrfeat.linking.sources import open_index, parse_index_spec
    from ehrfeat.models.loader import load_encoder

    encoder = load_encoder(model)
    started = time.perf_counter()
    index = open_index(parse_index_spec({"max_code_length": max_code_length}), encoder, ["ICD10CM", "HPO"])
    built = time.perf_counter() - started
    result: dict = {"model": model or "minilm (base)", "fingerprint": encoder.fingerprint, "index_codes": len(index), "index_s": round(built, 1)}
    hits1 = hits5 = total = 0
    for system, items in pairs.items():
        vectors = encoder.encode([q for q, _ in items], batch_size=128)
        _, rows = index.search(vectors, 5, systems=[system])
        found = [[index.embeddings.codes[r] for r in row] for row in rows]
        at1 = sum(gold == top[0] for (_, gold), top in zip(items, found, strict=True))
        at5 = sum(gold in top for (_, gold), top in zip(items, found, strict=True))
        result[system] = {"n": len(items), "acc@1": round(at1 / len(items), 4), "acc@5": round(at5 / len(items), 4)}
        hits1, hits5, total = hits1 + at1, hits5 + at5, total + len(items)
    result["all"] = {"n": total, "acc@1": round(hits1 / total, 4), "acc@5": round(hits5 / total, 4)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="queries per system")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-code-length", type=int, default=4)
    parser.add_argument("--model", action="append", default=[], help="a trained model to compare with the base encoder")
    args = parser.parse_args()

    from ehrfeat.linking.sources import builtin_vocabulary
    from ehrfeat.vocab import Vocabulary
    from ehrfeat.vocab.readers import read_hpo, read_icd10cm

    started = time.perf_counter()
    vocabulary = builtin_vocabulary(["ICD10CM", "HPO"], max_code_length=args.max_code_length)
    # queries are the readers' synonyms (inclusion terms, exact synonyms) of the indexed codes
    readers = [*read_icd10cm().vocabulary, *read_hpo().vocabulary]
    indexed = Vocabulary(c for c in readers if vocabulary.get(c.system, c.code) is not None)
    pairs = queries(indexed, ["ICD10CM", "HPO"], args.n, args.seed)
    results = [evaluate(model, vocabulary, pairs, args.max_code_length) for model in [None, *args.model]]
    print(json.dumps({"benchmark": "linking_accuracy", "queries_per_system": args.n, "seed": args.seed,
                      "max_code_length": args.max_code_length, "results": results,
                      "elapsed_s": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
