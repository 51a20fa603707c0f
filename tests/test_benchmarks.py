"""Every benchmark can at least start: `python benchmarks/X.py --help` exits 0 for each script.

A benchmark whose imports broke, or whose argument parser fails, would otherwise go unnoticed until someone runs it
by hand. The scripts start in parallel (each imports torch, a few seconds), so the whole check takes seconds.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(BENCHMARKS.glob("*.py"))


def help_of(script: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(script), "--help"], cwd=BENCHMARKS.parent, capture_output=True,
                          text=True, timeout=120)


def test_there_are_benchmarks_to_check():
    assert len(SCRIPTS) >= 10, SCRIPTS


def test_every_benchmark_answers_help():
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(SCRIPTS, pool.map(help_of, SCRIPTS), strict=True))
    failed = {script.name: (r.returncode, r.stderr[-2000:]) for script, r in results.items() if r.returncode != 0}
    assert not failed, "\n\n".join(f"benchmarks/{name} --help exited {rc}:\n{err}"
                                   for name, (rc, err) in failed.items())
    # each printed its usage, not a run's output
    assert all("usage:" in r.stdout for r in results.values()), [s.name for s, r in results.items()
                                                                 if "usage:" not in r.stdout]
