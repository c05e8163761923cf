"""Retention limits are policy: a user's file keeps proof only longer and personal data only for less time, and the
audit trail's floor of one year (CJIS AU-11) cannot be set lower in any file."""

from __future__ import annotations

import pytest

from console.errors import UserError
from console.settings import load_settings_explained


def _load(tmp_path, machine: str, user: str):
    (tmp_path / "machine.toml").write_text(machine)
    (tmp_path / "user.toml").write_text(user)
    return load_settings_explained(tmp_path / "machine.toml", tmp_path / "user.toml")


def test_proof_may_only_be_kept_longer_and_personal_data_only_shorter(tmp_path):
    loaded = _load(tmp_path, "retention_audit_days = 730\nretention_snapshots_days = 20\n",
                   "retention_audit_days = 400\nretention_snapshots_days = 60\nretention_declined_days = 30\n"
                   "retention_footage_days = 10\n")
    assert loaded.settings.retention_audit_days == 730 and "may only be raised" in loaded.refused["retention_audit_days"]
    assert loaded.settings.retention_snapshots_days == 20 and "retention_snapshots_days" in loaded.refused
    assert loaded.settings.retention_declined_days == 30
    assert loaded.settings.retention_footage_days == 730 and "machine settings file" in loaded.refused[
        "retention_footage_days"]
    longer = _load(tmp_path, "", "retention_audit_days = 2000\n")
    assert longer.settings.retention_audit_days == 2000 and not longer.refused


@pytest.mark.parametrize("text", ["retention_audit_days = 364", "retention_view_sessions_days = 30",
                                  "retention_snapshots_days = 0", "retention_audit_days = \"forever\""])
def test_limits_below_the_floor_are_refused_in_any_file(tmp_path, text):
    with pytest.raises(UserError, match="must be"):
        _load(tmp_path, text + "\n", "")
