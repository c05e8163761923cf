"""`rtic-console auth`: sign in exactly as the window does and say what happened (support staff's first tool), and
mark the local break-glass administrator.

  rtic-console auth check --user NAME       source, groups and role, or the sentence that refused the account
  rtic-console auth break-glass NAME [--off] --user ADMIN
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from console.cli import signin
from console.domain.users import Permission
from console.errors import UserError
from console.services.accounts import AccountService, default_workstation, os_user
from console.services.auth import AuthService, LoginFailed, SecondFactorRequired
from console.store.db import open_database

ADMIN_URL_ENV = "RTIC_ADMIN_DATABASE_URL"


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("auth", help="directory sign-in: check an account, mark the break-glass admin",
                                   parents=[common])
    actions = parser.add_subparsers(dest="auth_action", metavar="ACTION", required=True)
    check = actions.add_parser("check", parents=[common],
                               help="sign in as the window does and print the account's source, groups and role")
    signin.add_user_option(check)
    check.set_defaults(func=_check)
    glass = actions.add_parser("break-glass", parents=[common],
                               help="mark the local administrator who can sign in when the directory is away")
    glass.add_argument("name", metavar="NAME")
    glass.add_argument("--off", action="store_true", help="remove the mark")
    signin.add_user_option(glass)
    glass.set_defaults(func=_break_glass)


def _check(args) -> int:
    username = (getattr(args, "signin_user", None) or "").strip()
    if not username:
        raise UserError("`rtic-console auth check` needs --user NAME (the password is asked on the terminal, or read "
                        f"from the file named by {signin.PASSWORD_FILE_ENV})")
    directory = signin.directory_for_command_line()
    with open_database(args.db or None) as database:
        audit = signin.SignedAuditLog(database, username, os_user(), "auth check")
        auth = AuthService(database, audit, hasher=signin.password_hasher(), workstation=default_workstation(),
                           directory=directory)
        password = signin._password(username, "auth check")
        now = datetime.now(timezone.utc)
        try:
            try:
                session = auth.login(username, password, now, notice_acknowledged=True, command_line=True)
            except SecondFactorRequired:
                session = auth.login(username, password, now, totp_code=signin._totp_code(username, "auth check"),
                                     notice_acknowledged=True, command_line=True)
        except LoginFailed as exc:
            print(f"{username}: refused: {exc}")
            return 1
    user = session.user
    account = getattr(auth, "last_directory_account", None)
    print(f"{user.username}: signed in ({user.display_name})")
    source = "local, break-glass administrator" if user.break_glass else user.source
    print(f"source: {source}" + (f" (server {account.server})" if account is not None else ""))
    if account is not None:
        print(f"directory name: {account.dn}")
        print("groups: " + ("; ".join(account.groups) or "none"))
        print("mapped groups: " + "; ".join(account.mapped_groups))
    print(f"role: {user.role.value}" + (" (from the directory's groups)" if account is not None else ""))
    if directory is None:
        print('directory sign-in is off on this computer (auth = "local" in the machine settings)')
    return 0


def _break_glass(args) -> int:
    from console.services.directory_login import mark_break_glass

    with open_database(args.db or os.environ.get(ADMIN_URL_ENV) or None) as database:
        signed = signin.sign_in(args, database, "auth break-glass", Permission.USER_ADMIN)
        user = mark_break_glass(AccountService(database, signed.audit, hasher=signin.password_hasher()),
                                signed.user, args.name, not args.off, datetime.now(timezone.utc))
    print(f"{user.username} is {'now' if user.break_glass else 'no longer'} the break-glass administrator")
    return 0
