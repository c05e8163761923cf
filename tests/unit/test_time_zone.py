"""The setting time_zone: an IANA name checked with zoneinfo (one sentence when bad), times shown with the zone."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from console.errors import UserError
from console.local_time import clock_text, time_zone, zone_problem
from console.settings import Settings, load_settings_explained, parse_value

WINTER = datetime(2026, 12, 2, 19, 4, 5, tzinfo=timezone.utc)
SUMMER = datetime(2026, 7, 2, 19, 4, 5, tzinfo=timezone.utc)


def test_the_agencys_zone_with_its_abbreviation_and_daylight_saving():
    new_york = time_zone("America/New_York")
    assert clock_text(WINTER, new_york) == "14:04:05 EST"
    assert clock_text(SUMMER, new_york) == "15:04:05 EDT"
    assert clock_text(WINTER, new_york, seconds=False) == "14:04 EST"
    assert clock_text(WINTER, time_zone("UTC")) == "19:04:05 UTC"


def test_empty_means_the_workstations_own_zone():
    """Told by a console process started in Tokyo and one in Chicago: the same instant, each its own zone."""
    code = ("from datetime import datetime, timezone; from console.local_time import clock_text, time_zone; "
            "print(clock_text(datetime(2026, 12, 2, 19, 4, 5, tzinfo=timezone.utc), time_zone('')))")
    seen = {}
    for zone in ("Asia/Tokyo", "America/Chicago"):
        out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "TZ": zone}, capture_output=True,
                             text=True, timeout=60, check=True)
        seen[zone] = out.stdout.strip()
    assert seen == {"Asia/Tokyo": "04:04:05 JST", "America/Chicago": "13:04:05 CST"}
    assert time_zone("") is None and time_zone("   ") is None


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime", "America/New York",
                                 "EST\x00", "x" * 5000, "America/"])
def test_a_bad_zone_name_is_refused_in_one_sentence(bad):
    assert zone_problem(bad) is not None
    with pytest.raises(UserError) as refused:
        parse_value("time_zone", bad)
    message = str(refused.value)
    assert "time_zone" in message and "America/New_York" in message and "\n" not in message
    assert message.count(". ") == 0 and len(message) < 300
    with pytest.raises(UserError):
        Settings({"time_zone": bad})
    assert time_zone(bad) is None  # never reached by the console, but a stray value still shows the local zone


def test_a_settings_file_with_a_bad_zone_is_refused_like_any_bad_value(tmp_path):
    machine, user = tmp_path / "machine.toml", tmp_path / "user.toml"
    machine.write_text('time_zone = "America/Chicago"\n')
    user.write_text('time_zone = "Chicago"\n')
    with pytest.raises(UserError) as refused:
        load_settings_explained(machine, user)
    assert str(user) in str(refused.value) and "'Chicago'" in str(refused.value)
    assert user.read_text() == 'time_zone = "Chicago"\n'  # the file is left as it was
    user.write_text('time_zone = "America/Denver"\n')
    loaded = load_settings_explained(machine, user)
    assert loaded.settings.time_zone == "America/Denver" and loaded.sources["time_zone"] == str(user)
    user.unlink()
    assert load_settings_explained(machine, user).settings.time_zone == "America/Chicago"
