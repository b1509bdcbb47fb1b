"""Docs/s of the ehrfeat_linker on 1,000 synthetic clinical notes, on the CPU.

Usage: python benchmarks/spacy_throughput.py [--notes 1000] [--batch-size 64] [--n-process 1] [--model M]

Notes are built from ICD-10-CM names and inclusion terms, HPO synonyms, drug
names and filler sentences (seeded). Measured side by side in one run: the blank
tokenizer alone, the linker on a cold start (empty mention-vector cache), and
the linker again on the same notes (every mention text cached: search and
matching only). The default index is built once beforehand and not timed.
Context (ConText flags and sections), clinical abbreviations, phrase extension
and reranking are on, as in the linker's defaults (``--plain``: all off). Prints
one JSON line, with the machine's 1-minute load average at the end (the machine
may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FILLER = [
    "Patient seen in clinic today for follow-up.",
    "Vitals stable, afebrile.",
    "Continue current medications and return in three months.",
    "Labs reviewed with the patient.",
    "Denies chest pain or shortness of breath.",
    "Started {drug} {dose} mg daily.",
    "Family history of {condition}.",
    "Assessment: {condition}; plan discussed.",
    "History of {condition} and {condition2}.",
]
DRUGS = ["metformin", "lisinopril", "atorvastatin", "amlodipine", "albuterol", "sertraline", "levothyroxine", "insulin glargine"]


def synthetic_notes(n: int, seed: int = 0) -> list[str]:
    from ehrfeat.linking.sources import builtin_vocabulary

    vocab = builtin_vocabulary(["ICD10CM", "HPO"], max_code_length=4)
    terms = [t for c in vocab for t in c.terms if len(t) < 60]
    rng = random.Random(seed)
    notes = []
    for _ in range(n):
        sentences = []
        for _ in range(rng.randint(4, 12)):
            template = rng.choice(FILLER)
            sentences.append(template.format(drug=rng.choice(DRUGS), dose=rng.choice([5, 10, 20, 500]),
                                             condition=rng.choice(terms).lower(), condition2=rng.choice(terms).lower()))
        notes.append(" ".join(sentences))
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n-process", type=int, default=1)
    parser.add_argument("--model", default=None)
    parser.add_argument("--plain", action="store_true",
                        help="context, clinical abbreviations, phrase extension and reranking off (all on by default)")
    args = parser.parse_args()

    import spacy

    import ehrfeat.linking.component  # noqa: F401

    notes = synthetic_notes(args.notes)
    nlp = spacy.blank("en")
    off = {"context": False, "clinical_abbreviations": False, "extend_mentions": False, "rerank": False}
    linker = nlp.add_pipe("ehrfeat_linker", config={"model": args.model, **(off if args.plain else {})})
    _ = (linker.index, linker.matcher)  # build or load the index and the dictionary (not timed)
    if not args.plain:
        _ = (linker.clinical, linker.term_codes)

    started = time.perf_counter()
    for _ in nlp.tokenizer.pipe(notes, batch_size=args.batch_size):
        pass
    tokenizer_s = time.perf_counter() - started

    def run() -> tuple[float, int, int]:
        started = time.perf_counter()
        mentions = linked = 0
        for doc in nlp.pipe(notes, batch_size=args.batch_size, n_process=args.n_process):
            mentions += len(doc.ents)
            linked += sum(bool(e._.ehrfeat_codes) for e in doc.ents)
        return time.perf_counter() - started, mentions, linked

    cold_s, mentions, linked = run()
    warm_s, _, _ = run()
    chars = sum(len(n) for n in notes)
    print(json.dumps({
        "benchmark": "spacy_throughput", "notes": len(notes), "mean_chars": round(chars / len(notes)),
        "mentions": mentions, "mentions_linked": linked, "index_codes": len(linker.index),
        "encoder": linker.encoder.fingerprint, "threads": len(os.sched_getaffinity(0)), "n_process": args.n_process,
        "context_and_abbreviations": not args.plain, "load_average_1min": round(os.getloadavg()[0], 2),
        "tokenizer_docs_s": round(len(notes) / tokenizer_s, 1), "linker_cold_docs_s": round(len(notes) / cold_s, 1),
        "linker_warm_docs_s": round(len(notes) / warm_s, 1), "cold_mentions_s": round(mentions / cold_s, 1),
        "cold_over_tokenizer": round(tokenizer_s / cold_s, 4), "warm_over_cold": round(cold_s / warm_s, 2),
    }))


if __name__ == "__main__":
    main()
