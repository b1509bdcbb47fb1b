"""A database server refused or killed mid-run: exit 2, the URL without its password, no partial batch, a re-run finishes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import port_for
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ehrfeat.cli.main import app
from ehrfeat.store import import_omop, open_database
from tests.omop_data import HashEncoder
from tests.pg_server import PG_PASSWORD, PostgresServer


class KillingEncoder(HashEncoder):
    """Encodes normally, but kills the database server when asked for batch number ``kill_at``."""

    def __init__(self, server: PostgresServer, kill_at: int) -> None:
        super().__init__()
        self.server, self.kill_at, self.calls = server, kill_at, 0

    def encode(self, texts, batch_size=64, show_progress_bar=False, normalize_embeddings=True):  # type: ignore[no-untyped-def]
        self.calls += 1
        if self.calls == self.kill_at:
            self.server.kill()
        return super().encode(texts, batch_size, show_progress_bar, normalize_embeddings)


def test_server_killed_mid_run_then_rerun(own_server: PostgresServer, extract_csv: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    url = own_server.url(own_server.create_database())
    import_omop(extract_csv, url)
    encoder = KillingEncoder(own_server, kill_at=3)
    monkeypatch.setattr("ehrfeat.models.loader.load_encoder", lambda model=None: encoder)
    result = CliRunner().invoke(app, ["embed-codes", url, "--no-progress", "--batch-size", "32"])
    assert result.exit_code == 2, result.output
    assert "E1409" in result.output and "lost the connection" in result.output
    assert PG_PASSWORD not in result.output and f"ehrfeat:***@127.0.0.1:{own_server.port}" in result.output
    own_server.restart()
    engine = open_database(url)
    with engine.connect() as conn:
        written = conn.execute(sa.text("SELECT COUNT(*) FROM code_embeddings")).scalar()
    assert written == 2 * 32  # the two committed batches, nothing of the third
    again = CliRunner().invoke(app, ["embed-codes", url, "--no-progress", "--batch-size", "32"])
    assert again.exit_code == 0, again.output
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT code_system, code, text, vector FROM code_embeddings")).all()
    engine.dispose()
    keys = [(s, c) for s, c, _, _ in rows]
    assert len(keys) == len(set(keys)) > 200  # finished, no duplicate
    expected = HashEncoder().encode([t for _, _, t, _ in rows])
    np.testing.assert_allclose(np.stack([np.frombuffer(v, "<f4") for *_, v in rows]), expected, atol=1e-7)


@pytest.mark.parametrize("command", [
    ["embed-codes", "{url}", "--no-progress"],
    ["patient-vectors", "{url}", "--out", "{out}"],
    ["similar", "E11.9", "--db", "{url}"],
    ["link-notes", "{url}", "--index", "builtin"],
    ["link-notes", "{url}", "--index", "builtin", "--schema", "cdm", "--write-schema", "results"],
    ["build-index", "{out_dir}", "--db", "{url}"],
], ids=["embed-codes", "patient-vectors", "similar", "link-notes", "link-notes-schemas", "build-index"])
def test_connection_refused_names_the_url_without_its_password(command: list[str], tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command that reads a database: exit 2, one error line naming the URL without its password, no traceback."""
    monkeypatch.setattr("ehrfeat.models.loader.load_encoder", lambda model=None: HashEncoder())
    port = port_for.select_random()
    url = f"postgresql+psycopg://someone:{PG_PASSWORD}@127.0.0.1:{port}/cdm"
    args = [a.format(url=url, out=tmp_path / "v.npy", out_dir=tmp_path / "index") for a in command]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert PG_PASSWORD not in result.output and f"someone:***@127.0.0.1:{port}/cdm" in result.output
    assert "Traceback" not in result.output
