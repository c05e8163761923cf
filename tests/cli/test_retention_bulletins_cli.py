"""Bulletins through the real `rtic-console retention` command line: counted in `plan`, and on PostgreSQL purged with
their e-mail outbox rows by the purge role `db grant --purge-role` makes (its DELETE grants cover them)."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from console.cli import main
from console.store import bulletins as bulletin_repo
from console.store.db import open_database
from tests.cli.test_retention_cli import OLD, _aged, _scalar


def _bulletin(url: str) -> None:
    """One bulletin with two e-mail copies, sent on the old closed incident CAD-2020-1."""
    with open_database(url) as db, db.engine.begin() as conn:
        incident = conn.execute(text("SELECT id FROM incidents WHERE cad_number = 'CAD-2020-1'")).scalar_one()
        bulletin = bulletin_repo.add_bulletin(conn, incident, "dispatcher", OLD, "ws-old", "red van, northbound",
                                              "theft in progress", None, "0" * 64, [])
        for n in range(2):
            bulletin_repo.add_recipient(conn, bulletin, f"unit{n}@pd.example.gov", None, f"<old-{n}@rtic>", OLD)


def test_plan_counts_bulletins(db_url, sign_in_as, capsys):
    _aged(db_url)
    _bulletin(db_url)
    user = sign_in_as(db_url, "auditor")
    assert main(["retention", "plan", "--db", db_url, "--json", *user]) == 0
    plan = {d["kind"]: d for d in map(json.loads, capsys.readouterr().out.splitlines())}
    assert plan["bulletins"]["count"] == 1 and plan["bulletins"]["oldest"].startswith("2020-03-02")
    assert "retention_bulletins_days" in plan["bulletins"]["why"]
    assert _scalar(db_url, "SELECT count(*) FROM bulletins") == 1


@pytest.mark.postgres
def test_the_purge_role_purges_bulletins_and_their_outbox(pg_url, sign_in_as, capsys, tmp_path):
    _aged(pg_url)
    _bulletin(pg_url)
    console_role, purge_role = f"rtic_console_{uuid.uuid4().hex[:8]}", f"rtic_purge_{uuid.uuid4().hex[:8]}"
    with open_database(pg_url) as admin, admin.engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{console_role}" LOGIN'))
    try:
        assert main(["db", "grant", "--db", pg_url, "--role", console_role, "--purge-role", purge_role]) == 0
        capsys.readouterr()
        user = sign_in_as(pg_url, "admin", "chief")
        as_purge = make_url(pg_url).set(username=purge_role).render_as_string(hide_password=False)
        assert main(["retention", "run", "--db", as_purge, "--json", *user]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["counts"]["bulletins"] == 1 and report["counts"]["bulletin_copies_unsent"] == 2
        assert _scalar(pg_url, "SELECT count(*) FROM bulletins") == 0
        assert _scalar(pg_url, "SELECT count(*) FROM bulletin_recipients") == 0
    finally:
        with open_database(pg_url) as admin, admin.engine.begin() as conn:
            for role in (console_role, purge_role):
                conn.execute(text(f'DROP OWNED BY "{role}"'))
                conn.execute(text(f'DROP ROLE "{role}"'))
