"""`rtic-console feed sync URL --once`: one JSON summary line; errors one line on stderr with exit status 2."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import main
from console.domain.users import Role
from tests.support.portal_server import PortalServer, alert, camera, cursor_for

TOKEN = "cli-feed-token-41"


@pytest.fixture
def portal():
    with PortalServer([camera("P-1"), camera("P-2"), alert("A-1", "P-1", "2026-11-23T22:00:00Z",
                                                           "2026-11-23T22:30:00Z")], token=TOKEN) as server:
        yield server


@pytest.fixture
def outreach(database, sign_in_as):
    return sign_in_as(database, Role.OUTREACH)


def sync(db_url, url, capsys, *extra):
    status = main(["feed", "sync", url, "--once", "--db", db_url, "--user", "cli-outreach", *extra])
    out, err = capsys.readouterr()
    return status, out, err


def test_sync_prints_a_summary_line_and_resumes(database, outreach, db_url, portal, capsys, monkeypatch):
    monkeypatch.setenv("PORTAL_TOKEN", TOKEN)
    status, out, err = sync(db_url, portal.base_url, capsys, "--token-env", "PORTAL_TOKEN")
    assert status == 0 and err == ""
    [line] = out.splitlines()
    summary = json.loads(line)
    assert summary["applied"] == {"camera": 2, "camera_removed": 0, "owner_deleted": 0, "alert": 1}
    assert (summary["pages"], summary["rejected"], summary["cursor"]) == (1, 0, cursor_for(3))
    assert TOKEN not in out

    monkeypatch.setenv("RTIC_FEED_TOKEN", TOKEN)  # the default variable
    sync(db_url, portal.base_url, capsys)  # the end of the log: its ETag is kept
    status, out, _ = sync(db_url, portal.base_url, capsys)
    assert status == 0 and json.loads(out)["not_modified"] is True
    assert portal.statuses[-1] == 304


@pytest.mark.parametrize("setup, message", [
    ("unset", "PORTAL_TOKEN (--token-env) is not set"),
    ("wrong", "refused the token (HTTP 401)"),
    ("bad_url", "is not an http(s) address"),
    ("user_in_url", "not in the URL"),
])
def test_errors_are_one_line_and_exit_2(database, outreach, db_url, portal, capsys, monkeypatch, setup, message):
    url = portal.base_url
    if setup != "unset":
        monkeypatch.setenv("PORTAL_TOKEN", "nope" if setup == "wrong" else TOKEN)
    if setup == "bad_url":
        url = "ftp://portal.example.org/feed"
    if setup == "user_in_url":
        url = url.replace("http://", "http://agency:secret@")
    status, out, err = sync(db_url, url, capsys, "--token-env", "PORTAL_TOKEN")
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and "secret" not in err and TOKEN not in err + out


def test_a_sync_is_done_by_someone_who_edits_the_registry(database, db_url, portal, capsys, monkeypatch, sign_in_as):
    monkeypatch.setenv("PORTAL_TOKEN", TOKEN)
    sign_in_as(database, Role.DETECTIVE, "cli-outreach-not")
    status = main(["feed", "sync", portal.base_url, "--once", "--db", db_url, "--user", "cli-outreach-not",
                   "--token-env", "PORTAL_TOKEN"])
    assert status == 2 and capsys.readouterr().err == (
        "rtic-console: the detective role cannot run `rtic-console feed sync`: it needs the registry edit permission\n")
    assert portal.statuses == []  # refused before the portal was asked
