"""``ehrfeat cluster vectors.parquet --k 8 --report DIR``: clusters, silhouette, top codes, map, HTML."""

from __future__ import annotations

from typing import Annotated

import typer

from ehrfeat.cli.errors import reported_errors
from ehrfeat.cli.options import SchemaOption, WriteSchemaOption

__all__ = ["register"]


def cluster_command(
    vectors: Annotated[str, typer.Argument(help="Patient vectors written by `ehrfeat patient-vectors`.")],
    report: Annotated[str, typer.Option(help="Folder for labels.csv, summary.json, map.png and report.html.")] = "clusters",
    k: Annotated[int, typer.Option(min=2, help="Number of clusters (kmeans, agglomerative).")] = 8,
    method: Annotated[str, typer.Option(help="kmeans, agglomerative or hdbscan.")] = "kmeans",
    min_cluster_size: Annotated[int | None, typer.Option(help="HDBSCAN's smallest cluster.")] = None,
    db: Annotated[str | None, typer.Option(help="Patient database for top codes (default: the one the vectors came from).")] = None,
    top: Annotated[int, typer.Option(min=0, help="Top codes by lift per cluster.")] = 10,
    normalize: Annotated[bool, typer.Option(help="L2-normalise vectors before clustering.")] = True,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    schema: SchemaOption = None,
    write_schema: WriteSchemaOption = None,
) -> None:
    """Cluster patient vectors and write a report."""
    from ehrfeat.patients.cluster import cluster_vectors
    from ehrfeat.patients.output import read_vectors
    from ehrfeat.patients.report import check_report_folder, write_report

    with reported_errors():
        check_report_folder(report)
        loaded = read_vectors(vectors)
        database: object = db or loaded.params.get("database")
        if database is not None and (schema or write_schema):
            from ehrfeat.store.database import open_database
            from ehrfeat.store.search_path import in_schemas

            database = in_schemas(open_database(str(database)), schema, write_schema)
        result = cluster_vectors(
            loaded, k=k, method=method, seed=seed, normalize=normalize,
            min_cluster_size=min_cluster_size, database=database, top=top,
        )
        files = write_report(result, report)
    sil = "n/a" if result.silhouette is None else f"{result.silhouette:.3f}"
    typer.echo(f"clusters: {result.sizes}  not clustered: {result.not_clustered or 0}  silhouette: {sil}")
    typer.echo(f"report: {files['html']}")


def register(app: typer.Typer) -> None:
    app.command("cluster")(cluster_command)
