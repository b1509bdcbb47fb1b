"""Clusters of patient vectors (k-means, agglomerative, HDBSCAN), with silhouette and top codes by lift.

Patients flagged ``no_codes`` are not clustered (label ``-1``, counted); HDBSCAN
noise is label ``-1`` too. Rows are L2-normalised first unless asked not to, so
clusters follow the direction of a patient's codes, not how many there are.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ehrfeat.errors import InputError
from ehrfeat.patients.results import PatientVectors

__all__ = ["METHODS", "ClusterResult", "TopCode", "cluster_labels", "cluster_vectors", "lift_table", "map_2d"]

logger = logging.getLogger(__name__)

METHODS = ("kmeans", "agglomerative", "hdbscan")
MAX_AGGLOMERATIVE = 20_000


@dataclass(frozen=True)
class TopCode:
    """A code over-represented in a cluster: ``lift = share_in_cluster / share_overall``."""

    system: str
    code: str
    text: str
    patients: int
    share_in_cluster: float
    share_overall: float
    lift: float


@dataclass(frozen=True)
class ClusterResult:
    patient_ids: np.ndarray
    labels: np.ndarray  # -1: not clustered (no codes) or HDBSCAN noise
    method: str
    silhouette: float | None
    sizes: dict[int, int]
    coords: np.ndarray  # (n, 2) map of the clustered patients' vectors; NaN for unclustered
    map_method: str
    top_codes: dict[int, list[TopCode]] = field(default_factory=dict)
    not_clustered: dict[str, int] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


def cluster_labels(x: np.ndarray, k: int, method: str = "kmeans", *, seed: int = 0, min_cluster_size: int | None = None) -> np.ndarray:
    """Labels ``0..k-1`` (HDBSCAN: any number, ``-1`` noise) of the rows of ``x``."""
    from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans

    if method not in METHODS:
        raise InputError(f"unknown clustering method {method!r}", fix=f"use one of {', '.join(METHODS)}", code="E150")
    if method != "hdbscan" and not 2 <= k <= len(x):
        raise InputError(f"cannot make {k} clusters of {len(x)} patients", fix="choose 2 <= --k <= the number of patients", code="E151")
    if method == "kmeans":
        return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(x).astype(np.int64)
    if method == "agglomerative":
        if len(x) > MAX_AGGLOMERATIVE:
            raise InputError(
                f"agglomerative clustering of {len(x)} patients needs O(n^2) memory",
                fix=f"use --method kmeans or hdbscan, or at most {MAX_AGGLOMERATIVE} patients",
                code="E152",
            )
        return AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(x).astype(np.int64)
    size = min_cluster_size or max(5, len(x) // 100)
    return HDBSCAN(min_cluster_size=size, copy=True).fit_predict(x).astype(np.int64)


def map_2d(x: np.ndarray, *, seed: int = 0, method: str = "auto") -> tuple[np.ndarray, str]:
    """2-D coordinates of the rows of ``x``: UMAP when installed (``auto``), else PCA."""
    if method in ("auto", "umap"):
        try:
            import umap  # type: ignore[import-not-found]
        except ImportError:
            if method == "umap":
                raise InputError("UMAP is not installed", fix="pip install 'ehrfeat[umap]', or use the PCA map", code="E153") from None
        else:
            return umap.UMAP(n_components=2, random_state=seed).fit_transform(x).astype(np.float32), "UMAP"
    from sklearn.decomposition import PCA

    n = min(2, x.shape[0], x.shape[1])
    coords = np.zeros((len(x), 2), np.float32)
    if n:
        coords[:, :n] = PCA(n_components=n, random_state=seed).fit_transform(x)
    return coords, "PCA"


def lift_table(presence: Any, labels: np.ndarray, codes: Sequence[Any], texts: Sequence[str], *, top: int = 10, min_share: float = 0.1) -> dict[int, list[TopCode]]:
    """Per cluster, the ``top`` codes by lift among codes held by at least ``min_share`` of its patients (and 2)."""
    presence = presence.tocsr().astype(bool).astype(np.float64)
    clustered = labels >= 0
    overall = np.asarray(presence[clustered].sum(axis=0)).ravel() / max(int(clustered.sum()), 1)
    out: dict[int, list[TopCode]] = {}
    for label in sorted(set(labels[clustered].tolist())):
        members = labels == label
        count = np.asarray(presence[members].sum(axis=0)).ravel()
        share = count / members.sum()
        ok = (share >= min_share) & (count >= 2) & (overall > 0)
        lift = np.where(ok, share / np.where(overall > 0, overall, 1), 0)
        best = [i for i in np.lexsort((-count, -np.round(lift, 2))) if ok[i]][:top]  # ties in lift: more patients first
        out[int(label)] = [
            TopCode(codes[i].system, codes[i].code, texts[i], int(count[i]), float(share[i]), float(overall[i]), float(lift[i]))
            for i in best
        ]
    return out


def cluster_vectors(
    vectors: PatientVectors, *, k: int = 8, method: str = "kmeans", seed: int = 0, normalize: bool = True,
    min_cluster_size: int | None = None, database: Any = None, top: int = 10, map_method: str = "auto",
) -> ClusterResult:
    """Cluster ``vectors``; with ``database`` (or the one recorded in the vectors file) also top codes by lift."""
    from sklearn.metrics import silhouette_score

    usable = ~vectors.no_codes
    not_clustered = {"no usable codes (flagged no_codes)": int((~usable).sum())} if (~usable).any() else {}
    x = vectors.matrix[usable].astype(np.float32)
    if normalize:
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = x / np.where(norms > 0, norms, 1)
    labels = np.full(len(vectors), -1, np.int64)
    labels[usable] = cluster_labels(x, k, method, seed=seed, min_cluster_size=min_cluster_size)
    inner = labels[usable]
    if (inner < 0).any():
        not_clustered["HDBSCAN noise"] = int((inner < 0).sum())
    good = inner >= 0
    silhouette = None
    if len(set(inner[good].tolist())) >= 2:
        silhouette = float(silhouette_score(x[good], inner[good], sample_size=min(int(good.sum()), 5000), random_state=seed))
    coords = np.full((len(vectors), 2), np.nan, np.float32)
    coords[usable], map_name = map_2d(x, seed=seed, method=map_method)
    sizes = {int(label): int((labels == label).sum()) for label in sorted(set(labels.tolist())) if label >= 0}
    source = database if database is not None else vectors.params.get("database")
    top_codes: dict[int, list[TopCode]] = {}
    if source is not None and top > 0:
        from ehrfeat.patients.counts import code_presence

        presence, codes, texts = code_presence(source, vectors)
        top_codes = lift_table(presence, labels, codes, texts, top=top)
    elif top > 0:
        logger.warning("no database given: top codes by lift are left out")
    params = {"k": k, "method": method, "seed": seed, "normalize": normalize, "min_cluster_size": min_cluster_size}
    return ClusterResult(vectors.patient_ids, labels, method, silhouette, sizes, coords, map_name, top_codes, not_clustered, params)
