"""The analytics benchmark runs end to end at a tiny size (the real figures are in the README): data,
aggregation, every figures scenario with a constant number of SQL queries, recording."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_analytics_benchmark_runs_at_a_tiny_size(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
    }
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]  # on PostgreSQL the bench runs there (bench_<name>)
    out = tmp_path / "results.json"
    result = subprocess.run(
        [
            sys.executable, "bench/analytics_bench.py", "--orders", "600", "--events", "400", "--stores", "4",
            "--listings", "40", "--days", "20", "--repeat", "2", "--event-calls", "50", "--requests", "10",
            "--no-redis", "--no-progress", "--name", f"analytics_smoke_{os.getpid()}", "--json", str(out),
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| figures | SQL queries | median ms | p95 ms | CPU ms (median) |" in result.stdout
    found = json.loads(out.read_text())
    assert found["orders"] == 600 and found["events"] > 0
    assert found["aggregation"]["backfill_days"] == 21 and found["aggregation"]["rows"] > 21
    figures = {row["scenario"]: row for row in found["figures"]}
    assert len(figures) == 20
    # The figures read the stored days with one query whatever the range or the period.
    assert {row["queries"] for name, row in figures.items() if "CSV download" not in name and "GraphQL" not in name} == {1}
    assert [row["buffer"] for row in found["recording"]] == ["memory (embedded default)"]
    assert [row["events_per_request"] for row in found["storefront"]] == [1, 1]
