"""Whether events at the as-of time itself count: ``strict`` (before only) or ``inclusive`` (at or before).

ehrfeat's rule for OMOP and native databases is ``strict``. MEDS says a model may use
data up to and including the prediction time, so MEDS runs default to ``inclusive``.
Commands print which rule ran (:func:`rule_line`).
"""

from __future__ import annotations

import numpy as np

from ehrfeat.errors import InputError
from ehrfeat.patients.as_of import AsOf
from ehrfeat.patients.timing import NAT

__all__ = ["AS_OF_RULES", "apply_rule", "check_rule", "rule_line"]

AS_OF_RULES = {
    "strict": "strict: events strictly before the as-of (default for OMOP and native databases)",
    "inclusive": "inclusive: events at or before the as-of (MEDS: up to and including the prediction time)",
}


def check_rule(rule: str) -> str:
    if rule not in AS_OF_RULES:
        raise InputError(f"unknown as-of rule {rule!r}", fix="use --as-of-rule strict or inclusive", code="E1509")
    return rule


def rule_line(rule: str) -> str:
    """The line a command prints to say which as-of rule ran."""
    return f"as-of rule:             {AS_OF_RULES.get(rule, rule)}"


def apply_rule(cohort: AsOf, rule: str) -> AsOf:
    """``cohort`` under ``rule``: ``inclusive`` moves each explicit as-of one second later (event times are in seconds)."""
    if check_rule(rule) == "strict" or not cohort.explicit:
        return cohort
    shifted = np.where(cohort.as_of_s == NAT, NAT, cohort.as_of_s + 1).astype(np.int64)
    return AsOf(cohort.patient_ids, shifted, cohort.now_s, cohort.explicit, cohort.issues)
