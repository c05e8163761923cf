"""Whether the audit trail's guards still stand: its append-only triggers (both backends) and, on PostgreSQL, that
the consoles' role cannot UPDATE, DELETE or TRUNCATE the trail or the checkpoints.

A table's owner can drop or disable the triggers and re-chain the events; the signed checkpoints catch what it
did before a checkpoint, and this check says that the door was opened. Read-only: the catalogs any role may read.
"""

from __future__ import annotations

import re

from sqlalchemy.exc import SQLAlchemyError

from console.errors import UserError
from console.store.db import Database

GUARDED = ("audit_events", "audit_checkpoints")
_ROLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# pg_trigger.tgtype bits (PostgreSQL's trigger.h)
_BEFORE, _DELETE, _UPDATE, _TRUNCATE = 2, 8, 16, 32
_PG_VERBS = (("UPDATE", _UPDATE), ("DELETE", _DELETE), ("TRUNCATE", _TRUNCATE))


def guard_problems(database: Database, role: str | None = None) -> list[str]:
    """One sentence per missing guard. `role`: the consoles' login role (as given to `db grant --role`); without
    it every login role that is neither a superuser nor the tables' owner is checked."""
    if role is not None and not _ROLE.match(role):
        raise UserError(f"{role!r} is not a PostgreSQL role name (letters, digits and _ only)")
    try:
        with database.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                return _sqlite_triggers(conn)
            return _pg_triggers(conn) + _pg_privileges(conn, role)
    except SQLAlchemyError as exc:
        text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise UserError(f"cannot read the audit trail's guards: {text[0] if text else exc}") from None


def _missing(table: str, verb: str) -> str:
    return (f"GUARD MISSING: {table} has no working append-only trigger against {verb}: someone with the tables' "
            "owner rights dropped or disabled it")


def _sqlite_triggers(conn) -> list[str]:
    problems = []
    for table in GUARDED:
        bodies = [" ".join(str(sql).upper().split()) for (sql,) in conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,))]
        for verb in ("UPDATE", "DELETE"):
            # A trigger of the right name with a WHEN clause or no RAISE would guard nothing.
            if not any(f"BEFORE {verb} ON {table.upper()}" in body and "RAISE(ABORT" in body and " WHEN " not in body
                       for body in bodies):
                problems.append(_missing(table, verb))
    return problems


def _pg_triggers(conn) -> list[str]:
    problems = []
    for table in GUARDED:
        if conn.exec_driver_sql("SELECT to_regclass(%(t)s)", {"t": table}).scalar() is None:
            problems.append(f"GUARD MISSING: the table {table} does not exist (run `rtic-console db upgrade`)")
            continue
        triggers = conn.exec_driver_sql(
            "SELECT t.tgtype, t.tgenabled, t.tgqual IS NULL, p.prosrc FROM pg_trigger t "
            "JOIN pg_proc p ON p.oid = t.tgfoid WHERE t.tgrelid = %(t)s::regclass AND NOT t.tgisinternal",
            {"t": table}).all()
        for verb, bit in _PG_VERBS:
            # Enabled (O: origin, A: always), BEFORE, unconditional, and its function really refuses.
            if not any(tgtype & bit and tgtype & _BEFORE and enabled in ("O", "A") and unconditional
                       and "RAISE EXCEPTION" in (source or "").upper()
                       for tgtype, enabled, unconditional, source in triggers):
                problems.append(_missing(table, verb))
    return problems


def _pg_privileges(conn, role: str | None) -> list[str]:
    owners = {table: owner for table, owner in conn.exec_driver_sql(
        "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.relname = ANY(%(t)s) "
        "AND c.relnamespace = 'public'::regnamespace", {"t": list(GUARDED)})}
    if role is not None:
        found = conn.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = %(r)s", {"r": role}).first()
        if found is None:
            raise UserError(f"there is no PostgreSQL role {role!r}: give the role the consoles log in as")
        if found[0]:
            return [f"PRIVILEGE: the role {role!r} is a superuser, so it can change or empty the audit trail at will: "
                    "let the consoles log in as a role made for them (`rtic-console db grant --role ROLE`)"]
        roles = [role]
    else:
        roles = [name for (name,) in conn.exec_driver_sql(
            "SELECT rolname FROM pg_roles WHERE rolcanlogin AND NOT rolsuper ORDER BY rolname")]
    problems = []
    for name in roles:
        for table, owner in sorted(owners.items()):
            if conn.exec_driver_sql("SELECT pg_has_role(%(r)s, %(o)s, 'USAGE')", {"r": name, "o": owner}).scalar():
                if role is not None:  # without a role, the owner is the administrator's, not a console's
                    problems.append(f"PRIVILEGE: the role {name!r} owns {table} (or acts as its owner), so it can "
                                    "switch the guards off: let the consoles log in as a role that does not own it")
                continue
            verbs = [verb for verb, _bit in _PG_VERBS if conn.exec_driver_sql(
                "SELECT has_table_privilege(%(r)s, %(t)s, %(v)s)", {"r": name, "t": table, "v": verb}).scalar()]
            if verbs:
                problems.append(f"PRIVILEGE: the role {name!r} may {', '.join(verbs)} {table}: run `rtic-console db "
                                f"grant --role {name}` as the tables' owner")
    return problems
