"""The installed console (a normal, non-editable `pip install .`) ships its forms, resources and migrations."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

from tests.support.backends import require


def _installed_files() -> list[str]:
    # The installed wheel's RECORD, not the source tree's *.egg-info that pip leaves beside setup.py.
    require("wheel")  # a normal install (installer/dev.sh test makes one); otherwise fails, or skips on request
    installed = [d for d in importlib.metadata.distributions(name="community-connect-console") if d.read_text("RECORD")]
    return [line.split(",")[0] for line in installed[0].read_text("RECORD").splitlines()]


def test_the_wheel_ships_ui_resources_and_migrations():
    files = _installed_files()
    assert "console/store/migrations/env.py" in files
    assert "console/store/migrations/versions/0001_initial.py" in files
    assert any(f.startswith("console/resources/map/") and f.endswith(".js") for f in files)
    assert any(f.startswith("console/ui/") and f.endswith(".ui") for f in files)
    assert not any("__pycache__" in f and f.startswith("console/resources") for f in files)


def test_the_console_script_is_installed():
    _installed_files()
    script = Path(sys.executable).parent / "rtic-console"  # beside the environment's python, as pip puts it
    assert script.exists(), f"no console script at {script}"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("rtic-console ")
