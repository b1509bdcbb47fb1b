"""benchmarks/patient_vectors_e2e.py runs end to end on PostgreSQL (its own throw-away server) at a small size."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "patient_vectors_e2e.py"


@pytest.mark.slow
def test_postgresql_engine_runs_ehrfeat_and_the_peer(postgresql_server: object) -> None:
    """The fixture only proves a server can start here (else the test skips); the script starts and stops its own."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--sizes", "4000", "--engines", "postgresql", "--codes", "300", "--dim", "8"],
        capture_output=True, text=True, check=True, timeout=600, cwd=SCRIPT.parents[1],
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    run = json.loads(lines[0])["postgresql_4000"]
    assert run["ehrfeat"]["path"] == "database", run
    assert run["ehrfeat"]["events_used"] > 3900 and run["peer"]["events_used"] == 4000, run
    assert run["ehrfeat"]["server_cpu_s"] >= 0 and run["speedup_ehrfeat_vs_peer"] > 0, run
    assert run["max_abs_diff_vs_peer"] < 0.1, run  # the same vectors, up to the peer's duplicates
    assert run["embed_codes_discovery"]["ehrfeat"]["codes"] == run["embed_codes_discovery"]["peer"]["codes"] > 0
