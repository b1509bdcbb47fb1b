"""Held-out groups: whole ICD categories and whole integer phecodes, never single pairs.

A code's *group* is its ICD-10-CM category (``E11.21`` -> ``E11``), its ICD-9-CM
three-digit code, its integer phecode (``250.21`` -> ``250``), or the code itself in
other systems. A group is held out when a hash of ``system:group`` falls below the
held-out fraction, so training and evaluation agree on the split with no state to
share, whatever order the data is read in. Torch-free (evaluation imports it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ehrfeat.codes import ICD9CM, ICD10CM, PHECODE

__all__ = ["HeldOutSplit", "group_of"]


def group_of(system: str, code: str) -> str:
    """The group a code is held out with (its category or integer part)."""
    if system == ICD10CM:
        return code[:3]
    if system in (ICD9CM, PHECODE):
        return code.split(".", 1)[0]
    return code


@dataclass(frozen=True)
class HeldOutSplit:
    """Which groups are held out from training; deterministic in ``(fraction, salt)``."""

    fraction: float = 0.1
    salt: str = "ehrfeat-heldout-v1"

    def is_heldout_group(self, system: str, group: str) -> bool:
        if self.fraction <= 0:
            return False
        digest = hashlib.sha256(f"{self.salt}|{system}|{group}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.fraction

    def is_heldout(self, system: str, code: str) -> bool:
        """True when the group of ``system:code`` is held out."""
        return self.is_heldout_group(system, group_of(system, code))
