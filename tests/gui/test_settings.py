"""Settings: declared once, machine file then user file, clear sentences for broken files."""

from __future__ import annotations

import pytest

from console.errors import UserError
from console.settings import DECLARED, Settings, load_settings


def test_every_setting_has_a_title_default_and_description():
    keys = [s.key for s in DECLARED]
    assert len(keys) == len(set(keys))
    for setting in DECLARED:
        assert setting.title and setting.description and setting.default is not None
    defaults = Settings()
    assert defaults.nearest_live_n == 4 and defaults.idle_lock_minutes == 30 and defaults.live_view_max_minutes == 15


def test_the_user_file_overrides_the_machine_file(tmp_path):
    machine, user = tmp_path / "machine.toml", tmp_path / "user.toml"
    machine.write_text('tile_url = "https://tiles.example.gov/{z}/{x}/{y}.png"\ntheme = "light"\n')
    user.write_text('theme = "dark"\nsearch_radius_m = 250\n')
    settings = load_settings(machine, user)
    assert settings.tile_url == "https://tiles.example.gov/{z}/{x}/{y}.png"
    assert settings.theme == "dark"
    assert settings.search_radius_m == 250.0


def test_paths_come_from_the_environment(tmp_path, monkeypatch):
    user = tmp_path / "elsewhere.toml"
    user.write_text("nearest_live_n = 6\n")
    monkeypatch.setenv("RTIC_USER_SETTINGS", str(user))
    monkeypatch.setenv("RTIC_MACHINE_SETTINGS", str(tmp_path / "none.toml"))
    assert load_settings().nearest_live_n == 6


@pytest.mark.parametrize("text, says", [
    ('theme = "pink"', "theme must be one of dark, light"),
    ("nearest_live_n = 0", "nearest_live_n must be at least 1"),
    ('search_radius_m = "far"', "search_radius_m must be a float"),
    ("theme = ", "cannot be read"),
])
def test_a_broken_user_file_names_the_file_and_the_fix(tmp_path, text, says):
    user = tmp_path / "user.toml"
    user.write_text(text + "\n")
    with pytest.raises(UserError) as raised:
        load_settings(tmp_path / "none.toml", user)
    assert says in str(raised.value) and str(user) in str(raised.value)


def test_unknown_keys_are_ignored_with_a_warning(tmp_path, caplog):
    user = tmp_path / "user.toml"
    user.write_text("colour = 3\ntheme = 'light'\n")
    assert load_settings(tmp_path / "none.toml", user).theme == "light"
    assert "unknown setting 'colour'" in caplog.text


def test_a_secure_dispatch_room_turns_the_idle_lock_off(tmp_path):
    machine = tmp_path / "machine.toml"
    machine.write_text("idle_lock_minutes = 0\n")
    assert load_settings(machine, tmp_path / "none.toml").idle_lock_minutes == 0
    machine.write_text("idle_lock_minutes = -5\n")
    with pytest.raises(UserError, match="idle_lock_minutes"):
        load_settings(machine, tmp_path / "none.toml")
