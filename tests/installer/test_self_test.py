"""`rtic-console self-test` as support staff run it: a real process, the real window, map page and video player."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.gui


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "console", "self-test", *args], capture_output=True, text=True,
                          timeout=240, env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})})


def test_self_test_passes_and_reports_each_check():
    done = run("--json")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    summary = json.loads(lines[-1])
    assert summary["ok"] is True
    names = [check["name"] for check in summary["checks"]]
    assert names == ["settings", "qt", "registry", "map", "video"]
    for name in names:
        assert any(line.startswith(name) and " ok " in line for line in lines), done.stdout
    video = summary["checks"][-1]["detail"]
    assert "h264 320x240" in video and "ffmpeg player" in video
    assert "Traceback" not in done.stderr


def test_a_corrupt_clip_fails_the_video_check_with_one_line(tmp_path):
    clip = tmp_path / "broken.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(20_000))
    done = run("--json", "--clip", str(clip))
    assert done.returncode == 1, done.stdout + done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    checks = {check["name"]: check for check in summary["checks"]}
    assert summary["ok"] is False
    assert not checks["video"]["ok"] and "broken.mp4" in checks["video"]["detail"]
    assert all(checks[name]["ok"] for name in ("settings", "qt", "registry", "map"))
    assert any(line.startswith("video") and "FAILED" in line for line in done.stdout.splitlines())
    assert "Traceback" not in done.stderr + done.stdout


def test_a_broken_settings_file_fails_its_check_and_the_rest_still_run(tmp_path):
    machine = tmp_path / "machine.toml"
    machine.write_text("idle_lock_minutes = 'soon'\n")
    done = run("--cameras", "50", env={"RTIC_MACHINE_SETTINGS": str(machine)})
    assert done.returncode == 1
    first = done.stdout.splitlines()[0]
    assert first.startswith("settings") and "FAILED" in first and "idle_lock_minutes" in first
    assert "self-test FAILED" in done.stdout
    assert "map       ok" in done.stdout


@pytest.mark.parametrize("args, message", [(["--cameras", "0"], "cameras"), (["--timeout", "x"], "timeout")])
def test_bad_options_are_one_line(args, message):
    done = run(*args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
