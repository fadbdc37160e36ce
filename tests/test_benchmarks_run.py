"""Every benchmark script still runs, on tiny sizes, and prints its figures (no speed is
asserted here: the figures are the benchmarks' business)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import POSTGRES_URL, require_postgres

ROOT = Path(__file__).resolve().parent.parent

RUNS = {
    "core": (["--n", "40", "--history", "300", "--rounds", "2"], "(2)/(1)"),
    "projections": (["--events", "1500"], "ratio"),
    "audit": (["--size", "2000", "--db", "postgres", "--runs", "1", "--no-beancount"],
              "replay as of a date / raw read"),
    "import": (["300", "--funds", "2", "--sponsors", "5", "--batch-size", "100"], "ratio"),
    "statements": (["--sponsors", "3", "--funds", "2", "--awards", "4", "--jobs", "1"],
                   "statements/s"),
    "api": (["--seconds", "0.5", "--rates", "10", "--funds", "2", "--pg-connections", "2",
             "--cpu"], "cores hold at most"),
}


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("name", RUNS)
def test_the_benchmark_runs_and_prints_its_figures(name, tmp_path):
    require_postgres()
    arguments, expected = RUNS[name]
    if name == "statements":
        arguments = [*arguments, "--out", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / f"bench_{name}.py"), *arguments],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={"PATH": "/usr/bin:/bin", "LEDGER_TEST_POSTGRES_URL": POSTGRES_URL,
             "LEDGER_BENCH_POSTGRES_URL": POSTGRES_URL, "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert expected in done.stdout, done.stdout[-2000:]
