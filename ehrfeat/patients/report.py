"""A cluster report folder: ``labels.csv``, ``summary.json``, ``map.png`` and a self-contained ``report.html``."""

from __future__ import annotations

import base64
import html
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ehrfeat.errors import InputError
from ehrfeat.paths import check_output_folder
from ehrfeat.patients.cluster import ClusterResult

__all__ = ["REPORT_FILES", "check_report_folder", "plot_map", "write_report"]


def plot_map(result: ClusterResult, path: Path) -> Path:
    """A 2-D scatter of the clustered patients coloured by cluster (PNG)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 6), dpi=110)
    shown = result.labels >= 0
    noise = ~shown & ~np.isnan(result.coords[:, 0])
    if noise.any():
        ax.scatter(result.coords[noise, 0], result.coords[noise, 1], s=4, c="lightgrey", label="noise")
    cmap = plt.get_cmap("tab20")
    for i, label in enumerate(sorted(result.sizes)):
        members = result.labels == label
        ax.scatter(result.coords[members, 0], result.coords[members, 1], s=5, color=cmap(i % 20), label=f"{label} (n={result.sizes[label]})")
    ax.set_xlabel(f"{result.map_method} 1")
    ax.set_ylabel(f"{result.map_method} 2")
    ax.set_title(f"{result.method} clusters of patient vectors ({result.map_method} map)")
    ax.legend(markerscale=3, fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _summary(result: ClusterResult) -> dict[str, object]:
    return {
        "method": result.method,
        "params": result.params,
        "silhouette": result.silhouette,
        "sizes": {str(k): v for k, v in result.sizes.items()},
        "not_clustered": result.not_clustered,
        "map": result.map_method,
        "top_codes": {str(k): [asdict(t) for t in v] for k, v in result.top_codes.items()},
    }


REPORT_FILES = ("summary.json", "labels.csv", "map.png", "report.html")


def _is_report(folder: Path) -> bool:
    names = {p.name for p in folder.iterdir()}
    return "summary.json" in names and names <= set(REPORT_FILES)


def check_report_folder(folder: str | Path) -> Path:
    """Refuse, before clustering, a folder that holds anything but an earlier report, or cannot be written."""
    return check_output_folder(folder, _is_report, "report folder", example="clusters")


def write_report(result: ClusterResult, folder: str | Path) -> dict[str, Path]:
    """Write the report files into ``folder`` (created if needed); returns them by kind."""
    folder = check_report_folder(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create report folder {folder}: {exc.strerror}", fix="choose a writable --report folder", code="E154") from exc
    summary = folder / "summary.json"  # first: it marks the folder as a report
    summary.write_text(json.dumps(_summary(result), indent=1))
    labels = folder / "labels.csv"
    with labels.open("w") as fh:
        fh.write("patient_id,cluster\n")
        fh.writelines(f"{p},{c}\n" for p, c in zip(result.patient_ids.tolist(), result.labels.tolist(), strict=True))
    png = plot_map(result, folder / "map.png")
    page = folder / "report.html"
    page.write_text(_html(result, base64.b64encode(png.read_bytes()).decode()))
    return {"labels": labels, "summary": summary, "map": png, "html": page}


def _html(result: ClusterResult, png_b64: str) -> str:
    e = html.escape
    sil = "n/a (fewer than 2 clusters)" if result.silhouette is None else f"{result.silhouette:.3f}"
    rows = "".join(f"<tr><td>{k}</td><td>{n}</td></tr>" for k, n in result.sizes.items())
    rows += "".join(f"<tr><td>not clustered: {e(r)}</td><td>{n}</td></tr>" for r, n in result.not_clustered.items())
    sections = []
    for label, codes in result.top_codes.items():
        body = "".join(
            f"<tr><td>{e(t.system)}:{e(t.code)}</td><td>{e(t.text)}</td><td>{t.patients}</td>"
            f"<td>{t.share_in_cluster:.0%}</td><td>{t.share_overall:.1%}</td><td>{t.lift:.2f}</td></tr>"
            for t in codes
        )
        sections.append(
            f"<h3>Cluster {label} (n={result.sizes.get(label, 0)})</h3><table><tr><th>code</th><th>text</th>"
            f"<th>patients</th><th>in cluster</th><th>overall</th><th>lift</th></tr>{body}</table>"
        )
    tops = "".join(sections) or "<p>Top codes need the patient database (pass --db).</p>"
    params = e(json.dumps(result.params))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ehrfeat patient clusters</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse;margin-bottom:1em}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left}}</style></head><body>
<h1>Patient clusters</h1>
<p>Method: <b>{e(result.method)}</b> {params}. Silhouette: <b>{sil}</b>.</p>
<h2>Cluster sizes</h2><table><tr><th>cluster</th><th>patients</th></tr>{rows}</table>
<h2>Map ({e(result.map_method)})</h2><img alt="2-D map of patients coloured by cluster" src="data:image/png;base64,{png_b64}">
<h2>Top codes by lift against all clustered patients</h2>{tops}
</body></html>
"""
