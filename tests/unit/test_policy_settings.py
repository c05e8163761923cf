"""Policy settings can only be tightened below the machine file, and the machine file can lock any setting."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from console.errors import UserError
from console.settings import DECLARED, load_settings, load_settings_explained

LOOSENED = ('live_view_max_minutes = 100000\nidle_lock_minutes = 0\nfootage_max_window_hours = 10000.0\n'
            'field_copy_max_age_days = 365\nfootage_max_area_radius_m = 50000.0\n')


def _files(tmp_path, machine: str, user: str):
    machine_file, user_file = tmp_path / "machine.toml", tmp_path / "user.toml"
    machine_file.write_text(machine)
    user_file.write_text(user)
    return machine_file, user_file


def test_a_users_file_cannot_loosen_policy(tmp_path, caplog):
    machine, user = _files(tmp_path, "", LOOSENED + 'theme = "light"\n')
    with caplog.at_level(logging.WARNING):
        loaded = load_settings_explained(machine, user)
    defaults = {s.key: s.default for s in DECLARED}
    for key in ("live_view_max_minutes", "idle_lock_minutes", "footage_max_window_hours",
                "field_copy_max_age_days", "footage_max_area_radius_m"):
        assert getattr(loaded.settings, key) == defaults[key], key
        assert loaded.sources[key] == "default"
        assert "agency policy" in loaded.refused[key] and key in caplog.text
    assert loaded.settings.theme == "light"  # a preference, not policy
    assert loaded.refused["idle_lock_minutes"] == (
        "idle_lock_minutes is agency policy and may only be lowered (not turned off) by a user's file: "
        "0 would loosen 30, so 30 stays")


def test_a_users_file_may_tighten_policy_below_the_machine_file(tmp_path):
    machine, user = _files(tmp_path, "live_view_max_minutes = 10\nidle_lock_minutes = 0\n",
                           "live_view_max_minutes = 5\nidle_lock_minutes = 15\nfootage_max_window_hours = 1.0\n")
    loaded = load_settings_explained(machine, user)
    assert (loaded.settings.live_view_max_minutes, loaded.settings.idle_lock_minutes) == (5, 15)
    assert loaded.settings.footage_max_window_hours == 1.0
    assert not loaded.refused
    # ... but not loosen it past the machine file's value
    user.write_text("live_view_max_minutes = 12\n")
    assert load_settings(machine, user).live_view_max_minutes == 10


def test_the_machine_file_locks_settings(tmp_path):
    machine, user = _files(tmp_path, 'locked = ["theme", "tile_url"]\ntile_url = "https://tiles.example.gov/{z}/{x}/{y}.png"\n',
                           'theme = "light"\ntile_url = "https://elsewhere.example.com/{z}/{x}/{y}.png"\n'
                           'search_radius_m = 500.0\n')
    loaded = load_settings_explained(machine, user)
    assert loaded.settings.theme == "dark" and loaded.settings.tile_url.startswith("https://tiles.example.gov")
    assert loaded.locked == {"theme", "tile_url"}
    assert "locked by the machine settings file" in loaded.refused["theme"]
    assert loaded.settings.search_radius_m == 500.0


def test_only_the_machine_file_can_lock(tmp_path):
    machine, user = _files(tmp_path, "", 'locked = ["theme"]\n')
    assert load_settings_explained(machine, user).locked == frozenset()


@pytest.mark.parametrize("text, why", [('locked = "theme"\n', "must be a list"),
                                       ('locked = ["no_such"]\n', "do not exist: 'no_such'")])
def test_a_bad_lock_list_is_one_sentence(tmp_path, text, why):
    machine, user = _files(tmp_path, text, "")
    with pytest.raises(UserError) as refused:
        load_settings(machine, user)
    assert why in str(refused.value) and str(machine) in str(refused.value)


def _cli(tmp_path, *args):
    env = {**os.environ, "RTIC_MACHINE_SETTINGS": str(tmp_path / "machine.toml"),
           "RTIC_USER_SETTINGS": str(tmp_path / "user.toml")}
    return subprocess.run([sys.executable, "-m", "console", "config", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def test_config_show_says_which_settings_are_policy_locked_or_refused(tmp_path):
    _files(tmp_path, 'locked = ["theme"]\n', LOOSENED + 'theme = "light"\n')
    done = _cli(tmp_path, "show", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["key"]: row for row in json.loads(done.stdout)["settings"]}
    assert rows["live_view_max_minutes"]["value"] == 15 and rows["live_view_max_minutes"]["policy"]
    assert "100000 would loosen 15" in rows["live_view_max_minutes"]["refused"]
    assert rows["theme"]["locked"] and rows["theme"]["value"] == "dark"
    assert rows["search_radius_m"]["policy"] is None and not rows["search_radius_m"]["locked"]
    table = _cli(tmp_path, "show").stdout
    line = next(line for line in table.splitlines() if line.startswith("live_view_max_minutes"))
    assert "policy: may only be lowered by a user's file" in line
    assert "refused from the user file: live_view_max_minutes is agency policy" in table


def test_config_set_refuses_to_loosen_policy_in_the_users_file(tmp_path):
    _files(tmp_path, "idle_lock_minutes = 20\n", "theme = \"light\"\n")
    before = (tmp_path / "user.toml").read_text()
    done = _cli(tmp_path, "set", "idle_lock_minutes=0")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == ("rtic-console: not set: idle_lock_minutes is agency policy and may only be lowered "
                                   "(not turned off) by a user's file: 0 would loosen 20, so 20 stays")
    assert (tmp_path / "user.toml").read_text() == before
    assert _cli(tmp_path, "set", "idle_lock_minutes=10").returncode == 0
    assert "idle_lock_minutes = 10" in (tmp_path / "user.toml").read_text()
    assert _cli(tmp_path, "set", "--machine", "idle_lock_minutes=0").returncode == 0  # the administrator's file


def test_the_lock_list_survives_config_set_on_the_machine_file(tmp_path):
    _files(tmp_path, 'locked = ["theme"]\n', "")
    assert _cli(tmp_path, "set", "--machine", "search_radius_m=250").returncode == 0
    text = (tmp_path / "machine.toml").read_text()
    assert 'locked = ["theme"]' in text and "search_radius_m = 250.0" in text


def test_a_polygons_size_matches_its_sides():
    from console.domain.footage import Circle, Polygon, area_m2
    from console.domain.geo import distance_from

    lat, lon, d = 40.0, -75.0, 0.01
    square = Polygon(((lat, lon), (lat + d, lon), (lat + d, lon + d), (lat, lon + d)))
    height = distance_from(lat, lon)(lat + d, lon)
    width = distance_from(lat + d / 2, lon)(lat + d / 2, lon + d)
    assert area_m2(square) == pytest.approx(height * width, rel=1e-3)
    assert area_m2(Circle(lat, lon, 100.0)) == pytest.approx(31415.93, rel=1e-6)
