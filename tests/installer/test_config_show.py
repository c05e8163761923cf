"""`rtic-console config show`: each setting's value and where it came from, secrets masked."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from console.settings import DECLARED


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "console", "config", "show", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


def test_sources_are_default_machine_or_user_file(tmp_path):
    machine, user = tmp_path / "machine.toml", tmp_path / "user.toml"
    machine.write_text('tile_url = "https://tiles.example.gov/{z}/{x}/{y}.png"\nidle_lock_minutes = 10\n'
                       'geocoder_api_key = "s3cr3t-key"\n')
    user.write_text('idle_lock_minutes = 5\ntheme = "light"\n')
    done = run("--json", env={"RTIC_MACHINE_SETTINGS": str(machine), "RTIC_USER_SETTINGS": str(user)})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["machine_file"] == {"path": str(machine), "exists": True}
    assert report["user_file"] == {"path": str(user), "exists": True}
    rows = {row["key"]: row for row in report["settings"]}
    assert list(rows) == [s.key for s in DECLARED]
    assert (rows["tile_url"]["source"], rows["tile_url"]["file"]) == ("machine", str(machine))
    assert (rows["idle_lock_minutes"]["value"], rows["idle_lock_minutes"]["source"]) == (5, "user")
    assert (rows["theme"]["value"], rows["theme"]["file"]) == ("light", str(user))
    assert (rows["search_radius_m"]["value"], rows["search_radius_m"]["source"]) == (300.0, "default")
    assert rows["search_radius_m"]["file"] is None
    assert rows["geocoder_api_key"]["value"] == "********" and "s3cr3t" not in done.stdout


def test_the_table_names_missing_files_and_masks_secrets(tmp_path):
    user = tmp_path / "user.toml"
    user.write_text('geocoder_api_key = "s3cr3t-key"\n')
    done = run(env={"RTIC_MACHINE_SETTINGS": str(tmp_path / "none.toml"), "RTIC_USER_SETTINGS": str(user)})
    assert done.returncode == 0, done.stderr
    assert f"machine file: {tmp_path / 'none.toml'} (not there)" in done.stdout
    assert f"user file:    {user} (exists)" in done.stdout
    key_line = next(line for line in done.stdout.splitlines() if line.startswith("geocoder_api_key"))
    assert "********" in key_line and f"user file {user}" in key_line and "s3cr3t" not in done.stdout
    from_default = [line for line in done.stdout.splitlines() if re.search(r"\s{2}default( \(policy: .*\))?$", line)]
    assert len(from_default) == len(DECLARED) - 1


def test_a_broken_file_is_one_line(tmp_path):
    machine = tmp_path / "machine.toml"
    machine.write_text("theme = [\n")
    done = run(env={"RTIC_MACHINE_SETTINGS": str(machine)})
    assert done.returncode == 2 and str(machine) in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_config_set_writes_the_machine_file_and_show_reports_it(tmp_path):
    machine, user = tmp_path / "etc" / "settings.toml", tmp_path / "user.toml"
    env = {"RTIC_MACHINE_SETTINGS": str(machine), "RTIC_USER_SETTINGS": str(user)}
    done = subprocess.run([sys.executable, "-m", "console", "config", "set", "--machine", "idle_lock_minutes=0",
                           "theme=light"], capture_output=True, text=True, timeout=60, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr
    rows = {row["key"]: row for row in json.loads(run("--json", env=env).stdout)["settings"]}
    assert (rows["idle_lock_minutes"]["value"], rows["idle_lock_minutes"]["source"]) == (0, "machine")
    assert rows["theme"]["value"] == "light" and not user.exists()


def test_config_set_refuses_bad_values_and_writes_nothing(tmp_path):
    machine = tmp_path / "settings.toml"
    for pair in ("theme=blue", "nearest_live_n=many", "no_such_setting=1", "theme"):
        done = subprocess.run([sys.executable, "-m", "console", "config", "set", "--machine", pair],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "RTIC_MACHINE_SETTINGS": str(machine)})
        assert done.returncode == 2, pair
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not machine.exists()


def test_the_template_is_a_valid_file_that_changes_nothing(tmp_path):
    done = subprocess.run([sys.executable, "-m", "console", "config", "template"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    template = tmp_path / "settings.toml"
    template.write_text(done.stdout)
    for setting in DECLARED:
        assert f"# {setting.key} = " in done.stdout
    from console.settings import Settings, load_settings

    assert load_settings(template, tmp_path / "none.toml").as_dict() == Settings().as_dict()
    # Uncommenting a line gives a valid setting.
    template.write_text(done.stdout.replace("# idle_lock_minutes = 30", "idle_lock_minutes = 30"))
    assert load_settings(template, tmp_path / "none.toml").idle_lock_minutes == 30
