"""In the packaged one-folder app, ui/ and resources/ are found under PyInstaller's _internal folder."""

from __future__ import annotations

import importlib
import sys

import console.paths


def test_frozen_app_finds_its_shipped_folders(tmp_path, monkeypatch):
    (tmp_path / "console" / "resources").mkdir(parents=True)
    (tmp_path / "console" / "ui").mkdir()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    try:
        paths = importlib.reload(console.paths)
        assert paths.resources_dir() == tmp_path / "console" / "resources"
        assert paths.ui_dir() == tmp_path / "console" / "ui"
    finally:
        monkeypatch.undo()
        importlib.reload(console.paths)
    assert (console.paths.resources_dir() / "selftest" / "test-clip.mp4").is_file()
