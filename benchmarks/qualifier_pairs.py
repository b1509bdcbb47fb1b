"""Where a trained model's hierarchy rows come from: ICD-10-CM qualifiers in the held-out pairs.

Usage: python benchmarks/qualifier_pairs.py [--model hiprbert-mini] [--base minilm]

ICD-10-CM names most codes by appending a qualifier to the parent's name ("..., initial
encounter", "..., sequela"). Two kinds of held-out pairs carry one:

* **7th-character families**: a code and its 6-character parent, or two codes that
  differ only in the 7th character (initial encounter / subsequent encounter / sequela).
  ICD-10-CM's held-out pairs call them category 1 or 2 (children, siblings, parents);
  PheCode calls such codes one phecode.
* **shared endings**: two unrelated codes that end in the same qualifier (a random pair of
  ICD-10-CM, or neighbouring phecodes).

For base and trained model the script prints the mean cosine of each kind, and what the
pooled and per-source AUCs would be if the 7th-character family pairs kept the base's
cosines while every other pair kept the trained model's (``what_if_family_at_base``):
the share of a row's gain that comes from pulling those families apart; and the same
with the shared-ending pairs at the base's cosines (``what_if_shared_at_base``): the
share of a row's loss that comes from reading the qualifier as relatedness. Held-out set:
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

ROWS = {"pooled": None, "icd10cm": "icd10cm", "phecode": "phecode"}
PAIRS = ((0, 1), (0, 2), (1, 2), (1, 3), (2, 3))


def _family(a: str, b: str) -> bool:
    """Two ICD-10-CM codes (no dot) of one 7th-character family."""
    if a == b:
        return False
    short, long_ = sorted((a, b), key=len)
    return len(long_) == 7 and (short[:6] == long_[:6] if len(short) == 7 else short == long_[:6])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from ehrfeat.evaluation.metrics import roc_auc
    from ehrfeat.models.loader import load_encoder
    from ehrfeat.training.compare import load_evalset
    from ehrfeat.training.qualifiers import QualifierPool
    from ehrfeat.vocab.readers import read_icd10cm

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="hiprbert-mini")
    ap.add_argument("--base", default="minilm")
    args = ap.parse_args(argv)

    icd = read_icd10cm()
    hierarchy = icd.hierarchies["ICD10CM"]
    names = {c.code: c.name for c in icd.vocabulary.concepts("ICD10CM")}
    code_of = {name: code.replace(".", "") for code, name in names.items()}
    endings = set(QualifierPool(hierarchy, names, names).qualifier.values())

    def ending(text: str) -> str:
        """The longest known qualifier the text ends in, after a comma ("" when none)."""
        parts = text.split(", ")
        return next((tail for i in range(1, len(parts)) if (tail := ", ".join(parts[i:])) in endings), "")

    pairs = load_evalset(args.model).pairs
    texts = sorted({t for p in pairs for t in p[1:3]})
    index = {t: i for i, t in enumerate(texts)}
    cat = np.array([p[3] for p in pairs])
    src = np.array([p[0] for p in pairs])
    family = np.array([p[0] in ("icd10cm", "phecode") and p[1] in code_of and p[2] in code_of
                       and _family(code_of[p[1]], code_of[p[2]]) for p in pairs])
    ends = [(ending(p[1]), ending(p[2])) for p in pairs]
    shared = np.array([bool(e1) and e1 == e2 and not f for (e1, e2), f in zip(ends, family, strict=True)])
    cos = {}
    for label, model in (("base", args.base), ("trained", args.model)):
        emb = load_encoder(model).encode(texts, batch_size=64, normalize_embeddings=True)
        a = emb[[index[p[1]] for p in pairs]]
        b = emb[[index[p[2]] for p in pairs]]
        cos[label] = np.einsum("ij,ij->i", a, b)
    what_if = {}
    for name, mask in (("what_if_family_at_base", family), ("what_if_shared_at_base", shared)):
        what_if[name] = cos["trained"].copy()
        what_if[name][mask] = cos["base"][mask]

    def kinds(mask: np.ndarray) -> dict[str, Any]:
        return {"pairs": int(mask.sum()), **{k: round(float(v[mask].mean()), 4) if mask.any() else None for k, v in cos.items()}}

    out: dict[str, Any] = {"benchmark": "qualifier_pairs", "model": str(args.model), "base": str(args.base), "held_out_pairs": len(pairs)}
    out["family_pairs"] = {f"{s}:{c}": kinds(family & (src == s) & (cat == c)) for s in ("icd10cm", "phecode") for c in range(4)
                           if (family & (src == s) & (cat == c)).any()}
    far = {s: int(cat[src == s].max()) for s in ("icd10cm", "phecode")}
    out["shared_ending_pairs"] = {f"{s}:{c}": kinds(shared & (src == s) & (cat == c)) for s in ("icd10cm", "phecode")
                                  for c in (1, far[s]) if (shared & (src == s) & (cat == c)).any()}
    out["other_far_pairs"] = {f"{s}:{far[s]}": kinds(~shared & ~family & (src == s) & (cat == far[s])) for s in ("icd10cm", "phecode")}
    rows: dict[str, Any] = {}
    for row, source in ROWS.items():
        mask = np.ones(len(pairs), bool) if source is None else src == source
        for lo, hi in PAIRS:
            pos, neg = mask & (cat == lo), mask & (cat == hi)
            if pos.any() and neg.any():
                rows[f"{row}:auc_{lo}v{hi}"] = {k: round(roc_auc(v[pos], v[neg]), 4) for k, v in {**cos, **what_if}.items()}
    out["rows"] = rows
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
