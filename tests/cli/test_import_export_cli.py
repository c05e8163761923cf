"""`rtic-console import` and `export` as a user runs them: the command line (in this process, tests/support/cli.py),
real files, both database backends. The progress bar on a real terminal is in tests/cli/test_entry_point.py."""

from __future__ import annotations

import csv
import json

import pytest

from console.domain.portal_records import FIELDS
from console.domain.users import Role
from tests.support.cli import run_cli

ROWS = [
    ["A1", "Maria Lopez", "", "413-555-0101", "maria@example.com", "12 Elm St", "42.1487", "-72.6079", "Front door",
     "live", "on_alert", "rtsp://viewer:s3cret@gw1.example:554/cam1", "90", "80", "30", "2025-03-01", "web"],
    ["A2", "Maria Lopez", "", "413-555-0101", "", "12 Elm St", "42.1488", "-72.6078", "Driveway", "registered",
     "never", "", "", "", "", "2025-03-01", ""],
    ["B1", "Joe Smith", "Joe's Deli", "413-555-0202", "", "40 Main St", "42.1500", "-72.6100", "Register", "live",
     "always", "https://deli.example/whep/cam1", "", "", "", "2024-12-01", "phone"],
]


def run(*args):
    """The command; import, export and audit list sign in as the administrator `chief`."""
    signs_in = args[0] in ("import", "export") or args[:2] == ("audit", "list")
    return run_cli(*args, *(["--user", "chief"] if signs_in else []))


def _administrator(url, sign_in_as):
    sign_in_as(url, Role.ADMIN, "chief")  # its password in RTIC_PASSWORD_FILE, which the process inherits


def write(path, rows, header=FIELDS):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


@pytest.fixture
def url(database, db_url, sign_in_as):
    _administrator(db_url, sign_in_as)
    return db_url  # migrated, with one account and no cameras


@pytest.fixture
def sqlite_db(sqlite_url, sign_in_as):
    from console.store.db import open_database

    open_database(sqlite_url, create=True).close()
    _administrator(sqlite_url, sign_in_as)
    return sqlite_url


def test_import_export_and_import_again_round_trip(url, tmp_path):
    portal = write(tmp_path / "portal.csv", ROWS)
    done = run("import", portal, "--db", url)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no terminal: no progress bar
    summary = json.loads(done.stdout)
    assert (summary["added"], summary["owners_added"], summary["rows"]) == (3, 2, 3)
    again = json.loads(run("import", portal, "--db", url).stdout)
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 3)

    out = tmp_path / "registry.geojson"
    done = run("export", str(out), "--with-contacts", "--reason", "copy for the county RTIC", "--db", url)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["format"] == "geojson" and "Maria Lopez" in out.read_text()
    back = json.loads(run("import", str(out), "--db", url).stdout)
    assert (back["added"], back["updated"], back["unchanged"]) == (0, 0, 3)

    public = tmp_path / "public.csv"
    assert run("export", str(public), "--db", url).returncode == 0
    assert "Maria" not in public.read_text() and "s3cret" not in public.read_text()
    listed = run("audit", "list", "--json", "--db", url).stdout
    actions = [json.loads(line)["action"] for line in listed.splitlines()]
    assert actions.count("registry_import") == 3 and actions.count("export") == 2
    assert run("audit", "verify", "--db", url).returncode == 0


def test_bad_rows_are_each_reported_and_nothing_is_imported(url, tmp_path):
    rows = [list(r) for r in ROWS]
    rows[1][6] = "forty-two"
    rows[2][10] = "sometimes"
    portal = write(tmp_path / "portal.csv", rows)
    done = run("import", portal, "--db", url)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0] == "row 3, lat: 'forty-two' is not a number"
    assert lines[1].startswith("row 4, sharing_mode: 'sometimes' is not one of never, on_alert, always")
    assert lines[2].startswith("rtic-console: portal.csv: 2 of 3 rows are bad, so nothing was imported")

    dry = run("import", portal, "--dry-run", "--db", url)
    assert dry.returncode == 2 and json.loads(dry.stdout)["added"] == 1 and "row 3, lat" in dry.stderr

    partial = run("import", portal, "--partial", "--rejects", str(tmp_path / "bad.csv"), "--db", url)
    assert partial.returncode == 0, partial.stderr
    assert (json.loads(partial.stdout)["added"], json.loads(partial.stdout)["rejected"]) == (1, 2)
    with open(tmp_path / "bad.csv", newline="", encoding="utf-8") as handle:
        assert [r["portal_id"] for r in csv.DictReader(handle)] == ["A2", "B1"]


def test_a_mapping_is_given_saved_and_reused_by_name(url, tmp_path):
    header = ["CameraID", "Owner", *FIELDS[2:5], "Street Address", *FIELDS[6:]]
    portal = write(tmp_path / "acme.csv", ROWS, header=header)
    missing = run("import", portal, "--db", url)
    assert missing.returncode == 2 and "has no portal_id, owner_name, address columns" in missing.stderr
    mapping = tmp_path / "acme-mapping.json"
    mapping.write_text(json.dumps({"CameraID": "portal_id", "Owner": "owner_name", "Street Address": "address"}))
    done = run("import", portal, "--mapping", str(mapping), "--save-mapping", "acme", "--dry-run", "--db", url)
    assert done.returncode == 0, done.stderr
    assert "mapping saved as 'acme'" in done.stderr
    again = run("import", portal, "--mapping", "acme", "--db", url)
    assert again.returncode == 0 and json.loads(again.stdout)["added"] == 3


@pytest.mark.parametrize("args,message", [
    (["import", "{tmp}/nothing.csv"], "nothing.csv does not exist"),
    (["import", "{tmp}/p.csv", "--mapping", "no-such-mapping"], "is neither a file nor a saved mapping"),
    (["import", "{tmp}/p.csv", "--save-mapping", "x"], "--save-mapping needs --mapping FILE"),
    (["import", "{tmp}/p.csv", "--rejects", "{tmp}/r.csv"], "--rejects goes with --partial"),
    (["export", "{tmp}/out.csv", "--with-contacts"], "exporting contact details needs --reason"),
    (["export", "{tmp}/out.csv", "--reason", "because"], "--reason goes with --with-contacts"),
    (["export", "{tmp}/no/such/folder/out.csv"], "the folder"),
    (["export", "{tmp}"], "is a folder: give the file to write"),
    (["export", "/dev/null"], "/dev/null is not a regular file (a device, pipe or socket)"),
    (["export", "{tmp}/link.csv"], "link.csv is a symbolic link"),
])
def test_bad_input_is_one_clear_line_and_exit_status_2(args, message, sqlite_db, tmp_path):
    write(tmp_path / "p.csv", ROWS)
    (tmp_path / "target.csv").write_text("kept\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "target.csv")
    done = run(*(a.format(tmp=tmp_path) for a in args), "--db", sqlite_db)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1 and done.stdout == ""
    assert (tmp_path / "target.csv").read_text() == "kept\n" and not list(tmp_path.glob(".*.part"))

