"""Run every benchmark in tests/bench and check that each prints its figures: one JSON object per line, each naming
its figure. No thresholds: the figures are read by people (and compared between runs), not judged here.

Run: `installer/dev.sh bench [--quick]` (or `.venv/bin/python tests/bench/run.py [--quick] [NAME...]`). --quick runs
each benchmark briefly (small registries, few iterations: a check that it still works, figures not comparable).
A benchmark that fails, hangs, prints no figure or prints a line that is not a JSON figure fails the run, named.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def benchmarks() -> list[Path]:
    return sorted(p for p in HERE.glob("*.py") if p.name != "run.py")


def problems_in(stdout: str) -> tuple[list[dict], list[str]]:
    """The figures printed, and what is wrong with the output (empty when every line is a JSON figure)."""
    figures, problems = [], []
    for number, line in enumerate(stdout.splitlines(), 1):
        if not line.strip():
            continue
        try:
            figure = json.loads(line)
        except ValueError:
            problems.append(f"line {number} is not JSON: {line[:120]!r}")
            continue
        if not isinstance(figure, dict) or not any(k in figure for k in ("figure", "bench")):
            problems.append(f"line {number} is not a figure (a JSON object naming what it measured): {line[:120]!r}")
            continue
        figures.append(figure)
    if not figures:
        problems.append("it printed no figure")
    return figures, problems


def run_one(path: Path, quick: bool, timeout: float) -> tuple[list[dict], list[str], float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               QTWEBENGINE_DISABLE_SANDBOX="1")
    began = time.monotonic()
    try:
        done = subprocess.run([sys.executable, str(path), *(["--quick"] if quick else [])], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [], [f"it did not finish within {timeout:g} s"], time.monotonic() - began
    figures, problems = problems_in(done.stdout)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no error output)"])[-1]
        problems.insert(0, f"it exited with status {done.returncode}: {last[:300]}")
    return figures, problems, time.monotonic() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each benchmark briefly (a check that it still works)")
    parser.add_argument("names", nargs="*", help="only these benchmarks (file names without .py)")
    args = parser.parse_args(argv)
    chosen = [p for p in benchmarks() if not args.names or p.stem in args.names]
    unknown = set(args.names) - {p.stem for p in benchmarks()}
    if unknown:
        print(f"no benchmark named {', '.join(sorted(unknown))}: they are "
              f"{', '.join(p.stem for p in benchmarks())}", file=sys.stderr)
        return 2
    failed = []
    for path in chosen:
        figures, problems, seconds = run_one(path, args.quick, 600 if args.quick else 7200)
        for figure in figures:
            print(json.dumps({"benchmark": path.stem, **figure}), flush=True)
        print(f"bench {path.stem}: {len(figures)} figure(s) in {seconds:.0f} s"
              f"{'' if not problems else ' - FAILED: ' + '; '.join(problems)}", file=sys.stderr, flush=True)
        if problems:
            failed.append(path.stem)
    if failed:
        print(f"benchmarks that did not print their figures: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
