"""`rtic-console demo`: create and migrate a database and fill it with the synthetic Chicopee demo registry.

Also creates one demo account per role; their passwords are printed once, in the JSON summary's "accounts".
On a database that already holds accounts or cameras the demo resets the demo accounts' passwords and adds to the
registry, so it signs in (`--user NAME`) as an administrator (user admin and registry edit) first.
"""

from __future__ import annotations

import json

from sqlalchemy import func, select

from console.cli import signin
from console.cli.args import integer
from console.domain.users import Permission
from console.services.demo import create_demo
from console.store.db import open_database
from console.store.key_check import agency_cipher
from console.store.models import CameraRow, UserRow


def register(subparsers, common) -> None:
    parser = subparsers.add_parser(
        "demo", parents=[common], help="create a demo registry around Chicopee, MA (for training and tests)"
    )
    parser.add_argument("--cameras", type=integer("--cameras", 0, 1_000_000), default=2500, metavar="N", help="how many cameras (default 2,500)")
    parser.add_argument("--seed", type=integer("--seed", 0, 2**63 - 1), default=1, metavar="S", help="random seed: the same seed, the same registry")
    signin.add_user_option(parser)
    parser.set_defaults(func=run)


def in_use(database) -> bool:
    """Whether the database already holds accounts or cameras (then only an administrator may add the demo)."""
    with database.engine.connect() as conn:
        return any(conn.execute(select(func.count()).select_from(t.__table__)).scalar_one()
                   for t in (UserRow, CameraRow))


def run(args) -> int:
    with open_database(args.db, create=True) as database:
        cipher = agency_cipher(database)  # a workstation without the agency's key stops here, before anything else
        signed = None
        if in_use(database):
            signed = signin.sign_in(args, database, "demo", (Permission.USER_ADMIN, Permission.REGISTRY_EDIT))
        summary = create_demo(database, cipher, cameras=args.cameras, seed=args.seed,
                              hasher=signin.password_hasher(), audit=signed.audit if signed else None,
                              actor=signed.name if signed else None)
    print(json.dumps(summary))
    return 0
