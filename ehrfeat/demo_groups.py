"""The planted phenotype groups, labs and drugs of the demo database (:mod:`ehrfeat.demo`).

Every ICD-10-CM code here is a valid code of simple-icd-10-cm (a test checks
it). LOINC and RxNorm names go into the demo's ``vocabulary`` table.
"""

from __future__ import annotations

from dataclasses import dataclass

import simple_icd_10_cm as icd10

__all__ = [
    "DRUGS", "FRACTURES", "FRACTURE_CATEGORIES", "FRACTURE_EFFECT", "FRACTURE_EXTRA", "FRACTURE_RATE", "GROUPS", "LABS",
    "LOCAL_CODES", "NOISE", "NOISE_PHRASES", "OUTCOME_EFFECTS", "PhenotypeGroup",
]


@dataclass(frozen=True)
class PhenotypeGroup:
    """A planted phenotype: codes its members carry with the given probabilities, and more."""

    icd10: tuple[tuple[str, float], ...]  # (ICD-10-CM code, probability a member has it)
    icd9: str  # the same condition in ICD-9-CM, for events before October 2015
    hpo: str  # an HPO term some members are also coded with
    drugs: tuple[tuple[str, float], ...]  # (RxNorm ingredient, probability)
    labs: dict[str, tuple[float, float, float]]  # LOINC -> (mean, sd, probability measured) for members
    ages: tuple[int, int]
    phrases: tuple[str, ...]  # how a note names the condition
    risk: float  # baseline log-odds of the planted outcome
    sex: str | None = None  # "F" for pregnancy, else drawn


GROUPS: dict[str, PhenotypeGroup] = {
    "diabetes": PhenotypeGroup(
        (("E11.9", 0.9), ("E11.65", 0.5), ("E11.22", 0.25), ("E11.40", 0.3), ("E11.649", 0.1), ("Z79.84", 0.6),
         ("Z79.4", 0.3), ("R73.9", 0.2)),
        "250.00", "HP:0005978", (("6809", 0.8), ("274783", 0.3)),
        {"4548-4": (8.1, 1.3, 0.9), "2345-7": (165.0, 40.0, 0.9)}, (40, 80),
        ("type 2 diabetes mellitus", "diabetes with neuropathy", "poorly controlled blood sugar"), -1.5),
    "heart_failure": PhenotypeGroup(
        (("I50.9", 0.8), ("I50.22", 0.4), ("I50.32", 0.3), ("I11.0", 0.4), ("I42.0", 0.15), ("R60.0", 0.35),
         ("I48.91", 0.3), ("I50.23", 0.15)),
        "428.0", "HP:0001635", (("4603", 0.8), ("20352", 0.6), ("29046", 0.4)),
        {"33762-6": (2200.0, 900.0, 0.85)}, (55, 90),
        ("congestive heart failure", "reduced ejection fraction", "leg swelling and shortness of breath"), -0.3),
    "cancer": PhenotypeGroup(
        (("C50.911", 0.5), ("C61", 0.5), ("C34.90", 0.3), ("C18.9", 0.2), ("Z51.11", 0.6), ("D64.81", 0.3),
         ("Z92.21", 0.3), ("R63.4", 0.25)),
        "174.9", "HP:0002664", (("10324", 0.3), ("26225", 0.6)),
        {"718-7": (10.5, 1.5, 0.7)}, (45, 85),
        ("malignant neoplasm", "cancer on chemotherapy", "weight loss and fatigue"), -0.5),
    "pregnancy": PhenotypeGroup(
        (("Z34.00", 0.6), ("Z34.80", 0.4), ("Z3A.20", 0.5), ("O24.410", 0.12), ("O80", 0.6), ("Z37.0", 0.6),
         ("O21.0", 0.15), ("O13.9", 0.1)),
        "V22.2", "HP:0100602", (("4511", 0.8),),
        {"21198-7": (25000.0, 15000.0, 0.7)}, (18, 42),
        ("pregnancy", "prenatal care", "an uncomplicated pregnancy"), -3.0, sex="F"),
    "depression": PhenotypeGroup(
        (("F32.9", 0.6), ("F32.1", 0.3), ("F33.1", 0.3), ("F41.1", 0.35), ("G47.00", 0.3), ("F32.A", 0.3),
         ("R45.851", 0.08)),
        "311", "HP:0000716", (("36437", 0.5), ("4493", 0.3)),
        {"44261-6": (16.0, 4.0, 0.7)}, (18, 70),
        ("major depressive disorder", "low mood and anhedonia", "depression and anxiety"), -2.0),
    "copd": PhenotypeGroup(
        (("J44.9", 0.85), ("J44.1", 0.35), ("J43.9", 0.2), ("Z87.891", 0.4), ("F17.210", 0.45), ("R06.02", 0.4),
         ("J96.11", 0.12)),
        "496", "HP:0006510", (("69120", 0.6), ("435", 0.7)),
        {"20150-9": (1.5, 0.4, 0.7)}, (50, 85),
        ("chronic obstructive pulmonary disease", "emphysema", "COPD with exertional dyspnea"), -0.8),
    "ckd": PhenotypeGroup(
        (("N18.30", 0.4), ("N18.31", 0.2), ("N18.4", 0.25), ("N18.9", 0.5), ("D63.1", 0.3), ("E87.5", 0.2),
         ("I12.9", 0.45), ("N18.5", 0.08)),
        "585.9", "HP:0012622", (("17767", 0.5),),
        {"2160-0": (2.6, 0.8, 0.9), "33914-3": (32.0, 10.0, 0.8), "718-7": (11.0, 1.3, 0.5)}, (50, 85),
        ("chronic kidney disease", "reduced kidney function", "CKD stage 3"), -0.6),
    "asthma": PhenotypeGroup(
        (("J45.909", 0.7), ("J45.40", 0.3), ("J45.20", 0.3), ("J30.9", 0.4), ("R06.2", 0.35), ("J45.901", 0.15),
         ("J45.41", 0.1)),
        "493.90", "HP:0002099", (("435", 0.8), ("41126", 0.5)),
        {"20150-9": (2.6, 0.5, 0.6)}, (10, 60),
        ("asthma", "wheezing and allergic rhinitis", "persistent asthma"), -2.2),
}

# Background codes every patient may carry: (code, probability).
NOISE: tuple[tuple[str, float], ...] = (
    ("I10", 0.3), ("E78.5", 0.25), ("J06.9", 0.25), ("M54.50", 0.15), ("Z00.00", 0.4), ("K21.9", 0.1),
    ("R51.9", 0.1), ("E66.9", 0.15), ("Z23", 0.3), ("R05.9", 0.15), ("M25.561", 0.05), ("E55.9", 0.08),
    ("N39.0", 0.06), ("R10.9", 0.08), ("M54.2", 0.05),
)
NOISE_PHRASES = {"I10": "essential hypertension", "E78.5": "hyperlipidemia", "E66.9": "obesity", "K21.9": "reflux",
                 "M54.50": "low back pain", "E55.9": "vitamin D deficiency"}
NOISE_DRUGS = {"I10": "29046", "E78.5": "83367", "M54.50": "5640"}

# LOINC -> (name, mean, sd, probability measured) for patients outside the groups that measure it.
LABS: dict[str, tuple[str, float, float, float]] = {
    "4548-4": ("Hemoglobin A1c/Hemoglobin.total in Blood", 5.5, 0.4, 0.25),
    "2345-7": ("Glucose [Mass/volume] in Serum or Plasma", 95.0, 12.0, 0.4),
    "33762-6": ("Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma", 80.0, 40.0, 0.05),
    "2160-0": ("Creatinine [Mass/volume] in Serum or Plasma", 0.9, 0.15, 0.4),
    "33914-3": ("Glomerular filtration rate/1.73 sq M.predicted by Creatinine-based formula (MDRD)", 90.0, 12.0, 0.3),
    "20150-9": ("FEV1", 3.2, 0.5, 0.03),
    "21198-7": ("Choriogonadotropin.beta subunit [Units/volume] in Serum or Plasma", 2.0, 1.0, 0.02),
    "718-7": ("Hemoglobin [Mass/volume] in Blood", 14.0, 1.2, 0.3),
    "2093-3": ("Cholesterol [Mass/volume] in Serum or Plasma", 195.0, 35.0, 0.3),
    "44261-6": ("Patient Health Questionnaire 9 item (PHQ-9) total score", 3.0, 2.0, 0.1),
}

DRUGS = {"6809": "metformin", "274783": "insulin glargine", "4603": "furosemide", "20352": "carvedilol",
         "29046": "lisinopril", "10324": "tamoxifen", "26225": "ondansetron", "4511": "folic acid",
         "36437": "sertraline", "4493": "fluoxetine", "69120": "tiotropium", "435": "albuterol",
         "17767": "amlodipine", "41126": "fluticasone", "83367": "atorvastatin", "5640": "ibuprofen"}

# Local codes: the first has a description in `vocabulary`; the others have none anywhere.
LOCAL_CODES = {"CM-ENROLL": "Enrolled in care management program", "FLU-CLINIC": None, "ZZ-TRIAGE-7": None}

# Extra log-odds of the planted outcome for patients carrying these codes (beyond their group's baseline).
OUTCOME_EFFECTS = {"E11.22": 1.2, "E11.649": 1.0, "I50.23": 1.4, "I48.91": 0.6, "C34.90": 1.5, "J96.11": 1.3,
                   "J44.1": 0.8, "N18.4": 1.2, "N18.5": 1.6, "R45.851": 1.0, "O13.9": 0.8, "J45.41": 0.6, "E66.9": 0.3}

# A semantic family of rare codes: fractures of the sites of fragility fractures. FRACTURES is every leaf code of
# simple-icd-10-cm under FRACTURE_CATEGORIES (thorax and thoracic spine, lumbar spine and pelvis, shoulder and upper
# arm, forearm and wrist, femur) whose description names the initial encounter for a closed fracture: 743 codes, as
# specific as real coding is (site, side, displacement). A patient of any group has a fracture history with
# probability FRACTURE_RATE, then 1 + Poisson(FRACTURE_EXTRA) distinct codes drawn uniformly from the family, so
# a code is carried by one patient in 3000, or none, or two: nothing to learn a weight per code from, while the codes'
# embeddings lie close together. Every distinct fracture code adds FRACTURE_EFFECT to the outcome's log-odds.
FRACTURE_CATEGORIES = ("S22", "S32", "S42", "S52", "S72")
FRACTURES: tuple[str, ...] = tuple(sorted(
    code for category in FRACTURE_CATEGORIES for code in icd10.get_descendants(category)
    if icd10.is_leaf(code) and "initial encounter for closed fracture" in icd10.get_description(code)
))
FRACTURE_RATE = 0.15
FRACTURE_EXTRA = 0.5
FRACTURE_EFFECT = 2.0
