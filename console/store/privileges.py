"""PostgreSQL: the least privileges the consoles' login role needs, and nothing more.

Registry tables: read, add and change (never DELETE: removals and erasures are updates that keep history); the audit
trail and the change feed: read and append only; the schema version: read only; no DDL (migrations run as the
owner with `rtic-console db upgrade`). Accounts (`users`): read only, so a console cannot change a role, lift an
administrator's lock or add an account; what signing in writes goes to `sign_ins`, which consoles may insert and
update (account changes run as the owner: `rtic-console users ...` with RTIC_ADMIN_DATABASE_URL); a directory sign-in
writes its account's row only through rtic_save_directory_user (migration 0012), which may write directory rows only.
Password hashes (users.password_hash, sign_ins.password_hash) are neither readable nor writable by the consoles' role:
it gets column privileges without them, and checks and changes passwords through the functions of migration 0013
(rtic_password_verifier, rtic_password_matches, rtic_set_own_password). From migration 0015 a console may only add
login failures (never delete or change one) and of sign_ins write only disabled_at: clearing failures, the lock after
them, the last sign-in and the TOTP step go through that migration's functions, which the database checks. The
cameras of a footage request can be taken off the request (DELETE).
"""

from __future__ import annotations

import re

from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from console.errors import UserError
from console.store.db import Database

_ROLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
APPEND_ONLY = ("audit_events", "audit_checkpoints", "changes")
READ_ONLY = ("alembic_version", "users", "audit_cuts", "retention_runs")  # cuts and runs: the purge role's
MAY_DELETE = ("login_failures", "footage_request_cameras")
HIDDEN_COLUMNS = {"users": "password_hash", "sign_ins": "password_hash"}  # through migration 0013's functions only
# From migration 0015 what signing in decides (failures, the lock after them, the last sign-in, the TOTP step) is
# written only through its functions: a console may add a failure but not erase one, and of sign_ins it may only
# note an account found unused (disabled_at); password_matches is the owner's alone.
SIGN_IN_FUNCTIONS = ("rtic_record_login(integer, timestamptz)", "rtic_use_totp_step(integer, bigint)",
                     "rtic_lock_after_failures(integer, timestamptz)")
OWNER_ONLY = ("password_matches",)
SIGN_IN_INSERT, SIGN_IN_UPDATE = ("user_id", "disabled_at"), ("disabled_at",)
PASSWORD_FUNCTIONS = ("rtic_password_verifier(text)", "rtic_password_matches(text, text, timestamptz, text)",
                      "rtic_set_own_password(text, text, text, timestamptz, text)")


def grant_console_privileges(database: Database, role: str) -> list[str]:
    """Give `role` exactly what a console needs on every table of the schema; return the statements run.

    Run it as the tables' owner after each `db upgrade` (new tables get no privileges until then).
    """
    if database.dialect != "postgresql":
        raise UserError("database roles exist only on PostgreSQL; a SQLite registry is one user's file")
    if not _ROLE.match(role):
        raise UserError(f"{role!r} is not a PostgreSQL role name (letters, digits and _ only)")
    try:
        with database.engine.begin() as conn:
            if conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s", {"r": role}).first() is None:
                raise UserError(f"there is no PostgreSQL role {role!r}: create it first (CREATE ROLE {role} LOGIN "
                                "PASSWORD '...')")
            owner = conn.exec_driver_sql(
                "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'audit_events'::regclass").scalar_one()
            if owner == role:
                raise UserError(f"the role {role!r} owns the tables, so it could switch the audit guards off: let the "
                                "consoles log in as a role that does not own them")
            tables = sorted(inspect(conn).get_table_names())
            # Before migration 0013 there are no password functions: sign-in still needs the hash columns then.
            hide = conn.exec_driver_sql("SELECT 1 FROM pg_proc WHERE proname = 'rtic_password_verifier'").first()
            guarded = conn.exec_driver_sql("SELECT 1 FROM pg_proc WHERE proname = 'rtic_record_login'").first()
            statements = [f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC, "{role}"',
                          f'GRANT USAGE ON SCHEMA public TO "{role}"',
                          f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"']
            for table in tables:
                if guarded and table in OWNER_ONLY:
                    continue
                if guarded and table == "login_failures":
                    statements.append(f'GRANT SELECT, INSERT ON "{table}" TO "{role}"')
                    continue
                if guarded and table == "sign_ins":
                    readable = ", ".join(f'"{c["name"]}"' for c in inspect(conn).get_columns(table)
                                         if c["name"] != HIDDEN_COLUMNS[table])
                    statements.append(f'GRANT SELECT ({readable}), INSERT ({", ".join(SIGN_IN_INSERT)}), '
                                      f'UPDATE ({", ".join(SIGN_IN_UPDATE)}) ON "{table}" TO "{role}"')
                    continue
                if table in APPEND_ONLY:
                    verbs = "SELECT, INSERT"
                elif table in READ_ONLY:
                    verbs = "SELECT"
                elif table in MAY_DELETE:
                    verbs = "SELECT, INSERT, UPDATE, DELETE"
                else:
                    verbs = "SELECT, INSERT, UPDATE"
                if hide and table in HIDDEN_COLUMNS:
                    columns = ", ".join(f'"{c["name"]}"' for c in inspect(conn).get_columns(table)
                                        if c["name"] != HIDDEN_COLUMNS[table])
                    statements.append(", ".join(f"{verb} ({columns})" for verb in verbs.split(", "))
                                      .join(("GRANT ", f' ON "{table}" TO "{role}"')))
                else:
                    statements.append(f'GRANT {verbs} ON "{table}" TO "{role}"')
            if conn.exec_driver_sql("SELECT 1 FROM pg_proc WHERE proname = 'rtic_save_directory_user'").first():
                statements.append("GRANT EXECUTE ON FUNCTION rtic_save_directory_user(text, text, text, text, "
                                  f'timestamptz) TO "{role}"')
            if hide:
                statements += [f'GRANT EXECUTE ON FUNCTION {f} TO "{role}"' for f in PASSWORD_FUNCTIONS]
            if guarded:
                statements += [f'GRANT EXECUTE ON FUNCTION {f} TO "{role}"' for f in SIGN_IN_FUNCTIONS]
            for statement in statements:
                conn.exec_driver_sql(statement)
    except SQLAlchemyError as exc:
        text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise UserError(f"cannot grant the console's privileges: {text[0] if text else exc}") from None
    return statements


# The purge role (`db grant --purge-role NAME`): a console's privileges, plus deleting what retention purges, the
# audit trail only through the trigger's door at a stored cut, which it alone (and the owner) may add.
PURGE_DELETES = ("view_sessions", "footage_requests", "footage_contacts", "evidence_files", "outreach_calls",
                 "bulletins", "bulletin_recipients", "audit_events")


def grant_purge_privileges(database: Database, role: str, console_role: str) -> list[str]:
    """Create `role` (LOGIN, no password: the administrator sets one or uses certificates) when missing and give it
    what `retention run` needs; the consoles' role must be another one."""
    if role == console_role:
        raise UserError("the purge role must not be the consoles' role: the consoles must never be able to purge")
    if not _ROLE.match(role):
        raise UserError(f"{role!r} is not a PostgreSQL role name (letters, digits and _ only)")
    try:
        with database.engine.begin() as conn:
            if conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s", {"r": role}).first() is None:
                conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
    except SQLAlchemyError as exc:
        raise UserError(f"cannot create the purge role: {str(getattr(exc, 'orig', None) or exc).splitlines()[0]}") \
            from None
    statements = grant_console_privileges(database, role)[1:]  # not the REVOKE of the consoles' own grants
    extra = [f'GRANT DELETE ON "{table}" TO "{role}"' for table in PURGE_DELETES]
    extra += [f'GRANT INSERT ON "audit_cuts" TO "{role}"', f'GRANT INSERT, UPDATE ON "retention_runs" TO "{role}"']
    try:
        with database.engine.begin() as conn:
            for statement in extra:
                conn.exec_driver_sql(statement)
    except SQLAlchemyError as exc:
        raise UserError(f"cannot grant the purge role's privileges: "
                        f"{str(getattr(exc, 'orig', None) or exc).splitlines()[0]}") from None
    return statements + extra
