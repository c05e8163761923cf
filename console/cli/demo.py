"""`rtic-console demo`: create and migrate a database and fill it with the synthetic Chicopee demo registry.

Also creates one demo account per role; their passwords are printed once, in the JSON summary's "accounts".
"""

from __future__ import annotations

import json

from console.services.demo import create_demo
from console.store.db import open_database
from console.store.key_check import agency_cipher


def register(subparsers, common) -> None:
    parser = subparsers.add_parser(
        "demo", parents=[common], help="create a demo registry around Chicopee, MA (for training and tests)"
    )
    parser.add_argument("--cameras", type=int, default=2500, metavar="N", help="how many cameras (default 2,500)")
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="random seed: the same seed, the same registry")
    parser.set_defaults(func=run)


def run(args) -> int:
    with open_database(args.db, create=True) as database:
        summary = create_demo(database, agency_cipher(database), cameras=args.cameras, seed=args.seed)
    print(json.dumps(summary))
    return 0
