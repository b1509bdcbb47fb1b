"""benchmarks/embed_codes_db.py runs end to end at a small size on SQLite and a real PostgreSQL and prints one JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "embed_codes_db.py"


@pytest.mark.slow
def test_benchmark_prints_one_json_line_at_small_size(postgresql_url: str) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--events", "5000", "--codes", "200", "--patients", "100", "--encoder", "hash",
         "--postgresql-url", postgresql_url],
        capture_output=True, text=True, check=True, timeout=600, cwd=SCRIPT.parents[1],
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["benchmark"] == "embed_codes_db" and result["events"] == 5000
    for backend in ("sqlite", "postgresql"):
        run = result[backend]
        assert run["codes_per_s"] > 0 and 0 <= run["write_share"] <= 1, run
        assert run["embedded"] == run["codes"] > 0, run  # an empty cache: every code is embedded now
    assert result["sqlite"]["codes"] == result["postgresql"]["codes"]
    assert "pg-s3cret" not in done.stdout + done.stderr  # the URL's password is never printed
