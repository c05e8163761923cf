"""`installer/dev.sh bench` (tests/bench/run.py) fails a benchmark that stops printing its JSON figures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

RUN = Path(__file__).resolve().parents[1] / "bench" / "run.py"
spec = importlib.util.spec_from_file_location("bench_run", RUN)
bench_run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_run)


def test_every_line_must_be_a_json_figure():
    figures, problems = bench_run.problems_in('{"figure": "a", "value": 1}\n\n{"bench": "import", "seconds": 2}\n')
    assert [f.get("figure", f.get("bench")) for f in figures] == ["a", "import"] and problems == []
    _, problems = bench_run.problems_in('{"figure": "a"}\nwarming up...\n[1, 2]\n')
    assert problems == ["line 2 is not JSON: 'warming up...'",
                        "line 3 is not a figure (a JSON object naming what it measured): '[1, 2]'"]
    assert bench_run.problems_in("")[1] == ["it printed no figure"]


def test_a_failing_or_silent_benchmark_is_named(tmp_path):
    crashing = tmp_path / "crashing.py"
    crashing.write_text('import sys\nprint(\'{"figure": "x", "value": 1}\')\nsys.exit("the server did not start")\n')
    figures, problems, _seconds = bench_run.run_one(crashing, quick=True, timeout=60)
    assert len(figures) == 1 and problems == ["it exited with status 1: the server did not start"]
    quiet = tmp_path / "quiet.py"
    quiet.write_text("import sys\nassert '--quick' in sys.argv\n")  # --quick is passed on
    assert bench_run.run_one(quiet, quick=True, timeout=60)[1] == ["it printed no figure"]


def test_every_benchmark_has_a_quick_mode():
    for path in bench_run.benchmarks():
        assert '"--quick"' in path.read_text(), f"{path.name} has no --quick mode"
    assert {p.stem for p in bench_run.benchmarks()} >= {"audit", "console", "import", "load", "nearby", "video"}
