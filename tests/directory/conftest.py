"""The directory server for these tests: a fresh slapd for each test (its data changes in some of them)."""

from __future__ import annotations

import pytest

from tests.support import backends


@pytest.fixture
def slapd(tmp_path):
    backends.require("slapd")
    from tests.directory.slapd import Slapd

    server = Slapd(tmp_path / "slapd")
    try:
        yield server
    finally:
        server.stop()
