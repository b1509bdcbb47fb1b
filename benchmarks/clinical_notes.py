"""Linking quality on ehrfeat's own annotated clinical sentences: mentions, codes and ConText flags.

Usage: python benchmarks/clinical_notes.py [--sentences tests/linking/data/clinical_sentences.txt] [--model M] [--misses]

Runs a blank English pipeline with the ``ehrfeat_linker`` (built-in ICD-10-CM index,
context, clinical abbreviations, phrase extension and reranking on) over the
annotated sentences (discharge summaries, radiology, endoscopy and progress notes,
written for ehrfeat) and prints one JSON line: mention recall, code accuracy@1
(full code and category) and precision/recall/F1 of the negated, historical,
hypothetical, uncertain and family flags. ``--plain`` switches context,
abbreviations, extension and reranking off (the linker as it was before them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "linking" / "data" / "clinical_sentences.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", default=str(DEFAULT))
    parser.add_argument("--model", default=None)
    parser.add_argument("--plain", action="store_true", help="context, abbreviations, extension and reranking off")
    parser.add_argument("--misses", action="store_true", help="also print every miss (to stderr)")
    args = parser.parse_args()

    import spacy

    import ehrfeat.linking.component  # noqa: F401
    from ehrfeat.evaluation.note_context import read_annotated, score

    sentences = read_annotated(args.sentences)
    nlp = spacy.blank("en")
    off = {"context": False, "clinical_abbreviations": False, "extend_mentions": False, "rerank": False}
    linker = nlp.add_pipe("ehrfeat_linker", config={"model": args.model, "k": 5, **(off if args.plain else {})})
    _ = (linker.index, linker.matcher)
    started = time.perf_counter()
    misses: list[str] = []
    result = score(nlp, sentences, misses=misses)
    if args.misses:
        print("\n".join(misses), file=sys.stderr)
    print(json.dumps({"benchmark": "clinical_notes", "plain": args.plain, "encoder": linker.encoder.fingerprint,
                      "index_codes": len(linker.index), **result, "elapsed_s": round(time.perf_counter() - started, 2)}))


if __name__ == "__main__":
    main()
