"""The MEDS streaming benchmark runs end to end at a small size and prints one JSON line with its measures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "meds_stream.py"


@pytest.mark.slow
def test_benchmark_prints_one_json_line_at_small_size():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--events", "20000", "--subjects", "200", "--shards", "2", "--codes", "300"],
        capture_output=True, text=True, check=True, timeout=600, cwd=SCRIPT.parents[1],
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["events"] == result["rows_read"] == 20000
    assert result["distinct_codes"] == 300 and result["prediction_rows"] == 600
    assert result["events_per_s"] > 0 and result["peak_rss_mb"] > 0 and result["under_2gb"] is True
