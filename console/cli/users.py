"""`rtic-console users add|list|lock|unlock|reset|role|totp|disable-unused`: console accounts, for administrators.

`users add` on an empty user table creates the first administrator without signing in; everything else signs in
as an administrator (`--user NAME`, console/cli/signin.py), except `users totp on|off NAME` for one's own account.
New passwords are read from standard input when it is not a terminal (scripted installs:
`echo "$PW" | rtic-console users add chief --role admin`), otherwise asked for twice without echo. Each change is
an audit event naming the administrator and the operating-system account.

On PostgreSQL the consoles' role may not change account rows (`db grant`): these commands connect with
RTIC_ADMIN_DATABASE_URL (the tables' owner) when it is set and --db is not given.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from console.cli import signin
from console.domain.users import Permission, Role, parse_role
from console.errors import UserError
from console.services.accounts import AccountService
from console.store.db import open_database

ADMIN_URL_ENV = "RTIC_ADMIN_DATABASE_URL"


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("users", help="console accounts: add, list, lock, unlock, reset", parents=[common])
    actions = parser.add_subparsers(dest="users_action", metavar="ACTION", required=True)

    add = actions.add_parser("add", parents=[common],
                             help="add an account (the first one, on an empty table, is the administrator)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", metavar="ROLE", help=f"one of {', '.join(r.value for r in Role)}")
    add.add_argument("--display-name", metavar="TEXT", default="")
    signin.add_user_option(add)
    add.set_defaults(func=_add)

    listing = actions.add_parser("list", parents=[common], help="list accounts with role and state")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    signin.add_user_option(listing)
    listing.set_defaults(func=_list)

    for name, helptext, func in (("lock", "lock an account", _lock),
                                 ("unlock", "unlock an account (also re-enables one unused for 90 days)", _unlock)):
        action = actions.add_parser(name, parents=[common], help=helptext)
        action.add_argument("name", metavar="NAME")
        signin.add_user_option(action)
        action.set_defaults(func=func)

    reset = actions.add_parser("reset", parents=[common],
                               help="set a new password (generated and printed unless given on standard input)")
    reset.add_argument("name", metavar="NAME")
    reset.add_argument("--password-stdin", action="store_true", help="read the new password from standard input")
    signin.add_user_option(reset)
    reset.set_defaults(func=_reset)

    role = actions.add_parser("role", parents=[common], help="change an account's role")
    role.add_argument("name", metavar="NAME")
    role.add_argument("role", metavar="ROLE")
    signin.add_user_option(role)
    role.set_defaults(func=_role)

    sweep = actions.add_parser("disable-unused", parents=[common],
                               help="disable every account not used for 90 days (run daily from a scheduler)")
    signin.add_user_option(sweep)
    sweep.set_defaults(func=_disable_unused)

    totp = actions.add_parser("totp", parents=[common], help="turn the authenticator-app second factor on or off")
    totp.add_argument("name", metavar="NAME")
    totp.add_argument("state", choices=("on", "off"))
    signin.add_user_option(totp)
    totp.set_defaults(func=_totp)


def _open(args):
    return open_database(args.db or os.environ.get(ADMIN_URL_ENV) or None)


@contextmanager
def _service(args, command: str, permission: Permission | None = Permission.USER_ADMIN
             ) -> Iterator[tuple[AccountService, object]]:
    """The account service for a signed-in administrator (or, with `permission` None, any signed-in user)."""
    with _open(args) as database:
        signed = signin.sign_in(args, database, command, permission)
        yield AccountService(database, signed.audit, hasher=signin.password_hasher()), signed.user


def _now() -> datetime:
    return datetime.now(timezone.utc)


def read_password(prompt: str = "Password") -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if not password:
            raise UserError("no password on standard input: pipe the password in, one line")
        return password
    first = getpass.getpass(f"{prompt}: ")
    if first != getpass.getpass(f"{prompt} again: "):
        raise UserError("the two passwords differ: nothing was changed")
    return first


def _role_of(text: str) -> Role:
    try:
        return parse_role(text)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _add(args) -> int:
    with _open(args) as database:
        first = AccountService(database, signin.unsigned_audit(database, "users add")).needs_first_admin()
        role = _role_of(args.role) if args.role else None
        if first and role not in (None, Role.ADMIN):
            raise UserError("there are no accounts yet: the first one must be the administrator (--role admin)")
        if role is None and not first:
            raise UserError("give the account's role with --role ROLE")
        if first:  # nobody to sign in as yet: the OS account is recorded beside the new administrator
            service = AccountService(database, signin.unsigned_audit(database, "users add"),
                                     hasher=signin.password_hasher())
            password = read_password()
            user = service.create_first_admin(args.name, password, _now(), args.display_name)
        else:
            signed = signin.sign_in(args, database, "users add", Permission.USER_ADMIN)
            service = AccountService(database, signed.audit, hasher=signin.password_hasher())
            password = read_password()
            user = service.add_user(signed.user, args.name, role, password, _now(), args.display_name)
    print(f"added {user.username} ({user.role.value}){' as the first administrator' if first else ''}")
    return 0


def _list(args) -> int:
    with _open(args) as database:
        if AccountService(database, signin.unsigned_audit(database, "users list")).needs_first_admin():
            users = []  # nothing to reveal and nobody to sign in as: say how to begin
        else:
            signed = signin.sign_in(args, database, "users list", Permission.USER_ADMIN)
            users = AccountService(database, signed.audit).list_users()
    rows = [{"name": u.username, "display_name": u.display_name, "role": u.role.value, "state": u.state,
             "second_factor": u.totp_enabled, "source": u.source, "break_glass": u.break_glass,
             "last_login": u.last_login_at.isoformat() if u.last_login_at else None} for u in users]
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("no accounts yet: `rtic-console users add NAME --role admin` creates the first administrator")
    for row in rows:
        source = "break-glass" if row["break_glass"] else row["source"]
        print(f"{row['name']:<24} {row['role']:<11} {row['state']:<9} {source:<11} "
              f"{'2FA' if row['second_factor'] else '   '} last login {row['last_login'] or 'never'}")
    return 0


def _simple(args, verb: str, call) -> int:
    with _service(args, f"users {args.users_action}") as (service, admin):
        user = call(service, admin)
    print(f"{verb} {user.username}: now {user.state}")
    return 0


def _lock(args) -> int:
    return _simple(args, "locked", lambda s, admin: s.lock(admin, args.name, _now()))


def _unlock(args) -> int:
    return _simple(args, "unlocked", lambda s, admin: s.unlock(admin, args.name, _now()))


def _reset(args) -> int:
    with _service(args, "users reset") as (service, admin):
        given = read_password("New password") if args.password_stdin else None
        password = service.reset_password(admin, args.name, _now(), given)
    if given is None:
        print(f"new password for {args.name} (to be changed at the next login): {password}")
    else:
        print(f"password of {args.name} reset (to be changed at the next login)")
    return 0


def _role(args) -> int:
    role = _role_of(args.role)
    with _service(args, "users role") as (service, admin):
        user = service.set_role(admin, args.name, role, _now())
    print(f"{user.username} is now {user.role.value}")
    return 0


def _totp(args) -> int:
    # Any signed-in user may turn on their own second factor; the service requires user admin for anyone else's.
    with _service(args, "users totp", permission=None) as (service, who):
        if args.state == "on":
            uri = service.enable_totp(who, args.name, _now())
            print(f"second factor on for {args.name}: add this to the authenticator app (shown once):\n{uri}")
        else:
            service.disable_totp(who, args.name, _now())
            print(f"second factor off for {args.name}")
    return 0


def _disable_unused(args) -> int:
    with _service(args, "users disable-unused") as (service, admin):
        names = service.disable_disused(_now(), actor=admin.username)
    print(f"disabled (unused for 90 days): {', '.join(names)}" if names else "no account has gone unused for 90 days")
    return 0
