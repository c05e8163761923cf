"""`rtic-console db upgrade|status|grant`: schema migrations and the consoles' privileges, for administrators."""

from __future__ import annotations

import json

from console.store import db as store_db
from console.store.privileges import grant_console_privileges, grant_purge_privileges


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("db", help="database schema: upgrade, status", parents=[common])
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    upgrade = actions.add_parser("upgrade", help="create the database schema or apply pending migrations", parents=[common])
    upgrade.set_defaults(func=_upgrade)
    status = actions.add_parser("status", help="print the schema revision", parents=[common])
    status.set_defaults(func=_status)
    grant = actions.add_parser(
        "grant", parents=[common],
        help="PostgreSQL: give the consoles' login role the least privileges it needs (run as the tables' owner)")
    grant.add_argument("--role", required=True, metavar="ROLE", help="the role the consoles log in as")
    grant.add_argument("--purge-role", metavar="ROLE", help="also create (when missing) and grant the role that "
                       "`retention run` connects as: a console's privileges plus the purge's deletes")
    grant.set_defaults(func=_grant)


def _upgrade(args) -> int:
    with store_db.open_database(args.db, create=True) as database:
        print(json.dumps({"database": database.display_url, "revision": store_db.current_revision(database)}))
    return 0


def _status(args) -> int:
    with store_db.open_database(args.db) as database:
        print(json.dumps({"database": database.display_url, "revision": store_db.current_revision(database),
                          "head": store_db.head_revision()}))
    return 0


def _grant(args) -> int:
    with store_db.open_database(args.db) as database:
        statements = grant_console_privileges(database, args.role)
        purge = grant_purge_privileges(database, args.purge_role, args.role) if args.purge_role else None
    print(json.dumps({"role": args.role, "statements": statements,
                      **({"purge_role": args.purge_role, "purge_statements": purge} if purge is not None else {})}))
    return 0
