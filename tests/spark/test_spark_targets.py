"""Spark outputs never replace or mix into what ehrfeat did not write there (E1621), checked before any work."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from ehrfeat.errors import InputError
from tests.helpers import snapshot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_vectors(spark, demo_source, demo_embeddings):
    from ehrfeat.spark.vectors import patient_vectors

    result = patient_vectors(spark, demo_source, demo_embeddings, as_of="2021-01-01", partitions=2)
    yield result
    result.release()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_local_and_the_hadoop_listing_agree(spark, tmp_path: Path) -> None:
    from ehrfeat.spark.targets import _hadoop_target, _local_target

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "part-00000.parquet").write_bytes(b"x")
    (tmp_path / "run" / "_SUCCESS").touch()
    (tmp_path / "one.parquet").write_bytes(b"x")
    kinds = {}
    for name in ("run", "one.parquet", "missing"):
        local, hadoop = _local_target(str(tmp_path / name)), _hadoop_target(spark, (tmp_path / name).as_uri())
        assert (local.kind, local.names) == (hadoop.kind, hadoop.names)
        kinds[name] = (local.kind, local.names, local.is_part_folder)
    assert kinds == {"run": ("folder", ("_SUCCESS", "part-00000.parquet"), True), "one.parquet": ("file", (), False),
                     "missing": ("missing", (), False)}


def test_patient_vectors_never_replace_a_folder_of_other_files(demo_vectors, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "analysis.R").write_text("precious")
    with pytest.raises(InputError, match="E1621") as info:
        demo_vectors.write(project)
    assert "analysis.R" in str(info.value) and "new --out" in (info.value.fix or "")
    assert _files(project) == {"analysis.R": b"precious"}


def test_patient_vectors_replace_their_own_earlier_output(demo_vectors, tmp_path: Path) -> None:
    out = tmp_path / "vectors"
    out.mkdir()  # an empty folder is taken
    demo_vectors.write(out)
    first = _files(out)
    demo_vectors.write(out)
    assert set(_files(out)) != set(first)  # new part files in place of the old ones
    assert len(pd.read_parquet(out)) == len(demo_vectors.collect().patient_ids)

    single = tmp_path / "one.parquet"
    demo_vectors.write(single, single_file=True)
    demo_vectors.write(single, single_file=True)  # an earlier single file is replaced
    assert len(pd.read_parquet(single)) == len(demo_vectors.collect().patient_ids)


def test_a_file_or_table_of_other_data_is_refused(spark, demo_vectors, tmp_path: Path) -> None:
    from ehrfeat.spark.targets import check_vectors_target

    other = tmp_path / "numbers"
    spark.range(3).write.parquet(str(other))  # a folder Spark wrote, of another table
    before = snapshot(other)
    with pytest.raises(InputError, match="E1621") as info:
        demo_vectors.write(other)
    assert "no column patient_id" in str(info.value)
    assert snapshot(other) == before

    notes = tmp_path / "notes.parquet"
    notes.write_bytes(b"not ehrfeat's")
    with pytest.raises(InputError, match="E1621"):
        demo_vectors.write(notes, single_file=True)
    assert notes.read_bytes() == b"not ehrfeat's"

    with pytest.raises(InputError, match="E1621") as info:  # Delta asked for, a parquet folder there
        check_vectors_target(spark, other, fmt="delta")
    assert "not a Delta table" in str(info.value) and "--format parquet" in (info.value.fix or "")
    table = tmp_path / "table"
    (table / "_delta_log").mkdir(parents=True)
    with pytest.raises(InputError, match="E1621") as info:  # parquet asked for, a Delta table there
        check_vectors_target(spark, table)
    assert "is a Delta table" in str(info.value) and "--format delta" in (info.value.fix or "")


def test_embed_codes_refuses_a_single_file_and_a_foreign_folder_before_any_work(spark, demo, tmp_path: Path) -> None:
    from ehrfeat.spark.embed import embed_codes

    single = tmp_path / "code_embeddings.parquet"  # a one-machine export: Spark cannot append to one file
    shutil.copy(demo["embeddings"], single)
    before = single.read_bytes()
    with pytest.raises(InputError, match="E1621") as info:
        embed_codes(spark, str(demo["parquet"]), single, model="no-such-model")  # refused before the model is loaded
    assert "single file" in str(info.value) and "parquet folder" in str(info.value)
    assert f"e.g. {tmp_path / 'code_embeddings-spark'}" in (info.value.fix or "") and "--embeddings" in (info.value.fix or "")
    assert single.read_bytes() == before

    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep")
    with pytest.raises(InputError, match="E1621") as info:
        embed_codes(spark, str(demo["parquet"]), folder, model="no-such-model")
    assert "notes.txt" in str(info.value)
    assert _files(folder) == {"notes.txt": b"keep"}


def test_cli_patient_vectors_on_spark_keeps_a_foreign_folder(demo, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ehrfeat.cli.main import app

    project = tmp_path / "project"
    project.mkdir()
    (project / "analysis.R").write_text("precious")
    result = CliRunner().invoke(app, ["patient-vectors", str(demo["parquet"]), "--engine", "spark", "--master", "local[2]",
                                      "--embeddings", str(demo["embeddings"]), "--out", str(project)])
    assert result.exit_code == 2 and "E1621" in result.output and "analysis.R" in result.output
    assert _files(project) == {"analysis.R": b"precious"}
