"""Parity gates: an exported variant must reproduce the torch model on real terms.

The terms are ICD-10-CM descriptions (a deterministic sample of leaf codes from
simple-icd-10-cm). fp32 must reach a minimum cosine of 0.9999 to torch, fp16
0.999; int8 a mean cosine of 0.99 and a top-10 nearest-neighbour overlap of 0.9.
"""

from __future__ import annotations

import logging
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ehrfeat.errors import InputError
from ehrfeat.onnx.manifest import OnnxManifest, VariantEntry, write_manifest

__all__ = [
    "GATES",
    "ParityGate",
    "ParityReport",
    "check_variant",
    "compare",
    "encode_variant",
    "icd10cm_terms",
    "top_k_overlap",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParityGate:
    """Thresholds one precision must meet; ``None`` means not checked."""

    min_cosine: float | None = None
    mean_cosine: float | None = None
    top10_overlap: float | None = None


GATES: dict[str, ParityGate] = {
    "fp32": ParityGate(min_cosine=0.9999),
    "fp16": ParityGate(min_cosine=0.999),
    "int8": ParityGate(mean_cosine=0.99, top10_overlap=0.9),
}


@dataclass(frozen=True)
class ParityReport:
    """One variant against the torch reference."""

    variant: str
    precision: str
    terms: int
    mean_cosine: float
    min_cosine: float
    top10_overlap: float
    gate: dict[str, float | None] = field(default_factory=dict)
    failures: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failures"] = list(self.failures)
        data["passed"] = self.passed
        return data

    def summary(self) -> str:
        verdict = "passed" if self.passed else "FAILED: " + "; ".join(self.failures)
        return (
            f"{self.variant} ({self.precision}) on {self.terms} terms: mean cos {self.mean_cosine:.6f}, "
            f"min cos {self.min_cosine:.6f}, top-10 overlap {self.top10_overlap:.4f} -> {verdict}"
        )


def icd10cm_terms(n: int = 2000, seed: int = 0) -> list[str]:
    """``n`` distinct ICD-10-CM leaf descriptions, the same for the same ``n`` and ``seed``."""
    import simple_icd_10_cm as icd

    descriptions = sorted({icd.get_description(c) for c in icd.get_all_codes(with_dots=True) if icd.is_leaf(c)})
    if n > len(descriptions):
        raise InputError(f"asked for {n} parity terms, ICD-10-CM has {len(descriptions)}", code="E501")
    return random.Random(seed).sample(descriptions, n)


def top_k_overlap(candidate: np.ndarray, reference: np.ndarray, k: int = 10) -> float:
    """Mean share of each term's ``k`` nearest neighbours (cosine) that both embeddings agree on."""
    k = min(k, len(reference) - 1)
    if k < 1:
        return 1.0

    def neighbours(matrix: np.ndarray) -> np.ndarray:
        unit = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        sims = unit @ unit.T
        np.fill_diagonal(sims, -np.inf)
        return np.argpartition(-sims, k, axis=1)[:, :k]

    a, b = neighbours(candidate), neighbours(reference)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(a, b, strict=True)]))


def compare(candidate: np.ndarray, reference: np.ndarray, *, variant: str, precision: str, gate: ParityGate | None = None) -> ParityReport:
    """Cosines and neighbour overlap of ``candidate`` to ``reference``, judged by the precision's gate."""
    gate = gate or GATES[precision]
    a = candidate.astype(np.float64)
    b = reference.astype(np.float64)
    cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    mean_cos, min_cos = float(cos.mean()), float(cos.min())
    overlap = top_k_overlap(candidate, reference, 10)
    failures = []
    if gate.min_cosine is not None and not min_cos >= gate.min_cosine:
        failures.append(f"min cosine {min_cos:.6f} < {gate.min_cosine}")
    if gate.mean_cosine is not None and not mean_cos >= gate.mean_cosine:
        failures.append(f"mean cosine {mean_cos:.6f} < {gate.mean_cosine}")
    if gate.top10_overlap is not None and not overlap >= gate.top10_overlap:
        failures.append(f"top-10 overlap {overlap:.4f} < {gate.top10_overlap}")
    return ParityReport(
        variant=variant,
        precision=precision,
        terms=len(reference),
        mean_cosine=round(mean_cos, 7),
        min_cosine=round(min_cos, 7),
        top10_overlap=round(overlap, 5),
        gate=asdict(gate),
        failures=tuple(failures),
    )


def encode_variant(folder: Path, variant: str, terms: list[str], manifest: OnnxManifest | None = None) -> np.ndarray:
    """``terms`` encoded on the CPU by ``variant`` of the export in ``folder`` (after writing ``manifest`` there)."""
    from ehrfeat.onnx.runtime import OnnxEncoder

    if manifest is not None:
        write_manifest(folder, manifest)
    # The parity terms are ICD-10-CM descriptions, some longer than max_length by design: their
    # truncation warnings would read as if the user's data were truncated.
    runtime_log = logging.getLogger("ehrfeat.onnx.runtime")
    level = runtime_log.level
    runtime_log.setLevel(logging.ERROR)
    try:
        return OnnxEncoder(folder, variant=variant, device="cpu").encode(terms, batch_size=64)
    finally:
        runtime_log.setLevel(level)


def check_variant(
    folder: Path, base: OnnxManifest, entry: VariantEntry, reference: np.ndarray, terms: list[str], gate: ParityGate
) -> ParityReport:
    """The parity gate: ``entry`` (listed with ``base``'s variants in ``folder``) against ``reference`` on ``terms``."""
    candidate = encode_variant(folder, entry.name, terms, manifest=base.with_variant(entry))
    report = compare(candidate, reference, variant=entry.name, precision=entry.precision, gate=gate)
    logger.info("parity %s", report.summary())
    return report
