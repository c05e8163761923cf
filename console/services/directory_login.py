"""Signing in through the agency's directory (auth = "ldap"), as AuthService.login and unlock_screen do it.

The console's own rules still hold around the directory's answer: a locked console account (an administrator's lock,
or five failed sign-ins within 15 minutes) is refused before the directory is asked, so the console never hammers the
directory with a guessed password; each wrong password counts; the console's TOTP applies to an account that has it.
At a successful sign-in the console's row of the account is created or updated (display name, role from its groups,
source "directory") and a change of role is audited as one. A local account cannot sign in while auth = "ldap",
except the break-glass administrator (`rtic-console auth break-glass`), who is how anyone signs in when the directory
is away. `recheck` looks at an open session's account again with the service account: disabled, expired, gone, out of
the mapped groups or given another role, and the session locks; a directory that does not answer then locks nothing
(the next check tries again), since an outage must not throw every dispatcher out mid-incident.
"""

from __future__ import annotations

import logging
from datetime import datetime

from console.domain.audit import Action, AuditEntry, Outcome
from console.domain.users import FAILED_LOGIN_WINDOW, MAX_FAILED_LOGINS, LockReason, User
from console.errors import UserError
from console.services.directory_auth import DirectoryRefused, DirectoryUnavailable
from console.store import users as repo
from console.store.transactions import audited_transaction

log = logging.getLogger(__name__)


def directory_login(auth, username: str, password: str, now: datetime, totp_code: str | None,
                    command_line: bool = False, resumed=None):
    """A Session, or None when the name is the local break-glass administrator's (the local check then runs),
    or LoginFailed saying why not."""
    from console.services.auth import LoginFailed, SecondFactorRequired, Session

    typed = (username or "").strip()
    name = typed.lower()  # a directory compares names without case: one console row per person
    with audited_transaction(auth.database) as conn:
        local = repo.get_user(conn, typed) if typed and resumed is None else None
        if local is not None and local.source == "local" and local.break_glass:
            return None
        user = repo.get_user(conn, name) if name else None
        if resumed is None and (local or user) is not None and (local or user).source == "local":
            who = (local or user).username
            problem = auth._fail(conn, name, now, "local_account",
                                 f"this console signs in through the agency's directory: the local account {who} "
                                 "cannot sign in here (only the break-glass administrator can)", count=False)
        else:
            problem = _before_directory(auth, conn, user, name or "(empty)", now)
    if problem is not None:
        raise problem
    try:
        account = auth.directory.authenticate(name, password, now)
    except DirectoryUnavailable as exc:
        auth.audit.append(AuditEntry(Action.LOGIN_FAILED, name[:64] or "(empty)", auth.workstation, Outcome.FAILED,
                                     details={"why": "directory_unavailable"}))
        raise LoginFailed(str(exc)) from None
    except DirectoryRefused as exc:
        with audited_transaction(auth.database) as conn:
            problem = auth._fail(conn, name or "(empty)", now, exc.why, str(exc), count=exc.counts, user=user)
        raise problem from None
    auth.last_directory_account = account  # what `rtic-console auth check` prints: groups, server
    with audited_transaction(auth.database) as conn:
        user_id, before = repo.save_directory_user(conn, account.username, account.display_name, account.role,
                                                   account.dn, now)
        groups = ", ".join(account.mapped_groups)
        if before is None:
            auth._audit(conn, "system", Action.USER_CHANGE, Outcome.OK,
                        {"change": "created_from_directory", "user": account.username, "role": account.role.value,
                         "groups": groups})
        elif before is not account.role:
            auth._audit(conn, "system", Action.USER_CHANGE, Outcome.OK,
                        {"change": "role", "user": account.username, "from": before.value,
                         "to": account.role.value, "by": "directory groups", "groups": groups})
        user = repo.get_user_by_id(conn, user_id)
        problem = None
        if resumed is not None and user.role is not resumed.user.role:
            # The window was built for the old role: it is not unlocked into another one.
            problem = auth._fail(conn, user.username, now, "role_changed",
                                 f"your role in the directory is now {user.role.value}: log out and sign in again",
                                 count=False)
        elif user.totp_enabled:
            code = (totp_code or "").strip()
            if not code:
                problem = SecondFactorRequired("enter the 6-digit code from your authenticator app")
            elif not auth._totp_ok(conn, user, code, now):
                problem = auth._fail(conn, user.username, now, "wrong_code", "wrong or already used authenticator "
                                     "code: wait for the next code and try again", user=user)
        if problem is None:
            auth._succeed(conn, user, now, second_factor=user.totp_enabled, resumed=resumed is not None,
                          command_line=command_line, extra={"source": "directory", "server": account.server})
            started = resumed.started_at if resumed is not None else now
            workstation = resumed.workstation if resumed is not None else auth.workstation
            return Session(repo.get_user_by_id(conn, user_id), workstation, started)
    raise problem


def _before_directory(auth, conn, user: User | None, name: str, now: datetime):
    """The console's own refusals, decided before the directory is asked (None: ask it)."""
    if user is not None and user.is_disabled:
        return auth._fail(conn, name, now, "disabled",
                          "this account is disabled in the console: ask an administrator to enable it", count=False)
    if user is not None and user.is_locked:
        why = ("after too many failed logins" if user.lock_reason is LockReason.FAILED_LOGINS
               else "by an administrator")
        return auth._fail(conn, name, now, "locked",
                          f"this account is locked {why}: ask an administrator to unlock it", count=False)
    if user is None and len(repo.failures_since(conn, name[:64], now - FAILED_LOGIN_WINDOW)) >= MAX_FAILED_LOGINS:
        return auth._fail(conn, name, now, "locked",
                          f"{MAX_FAILED_LOGINS} failed sign-ins for this name within "
                          f"{int(FAILED_LOGIN_WINDOW.total_seconds() // 60)} minutes: wait, or ask an administrator",
                          count=False)
    return None


def recheck(auth, session, now: datetime) -> str | None:
    """Why the open session must lock now (its directory account changed), or None; the lock is audited here."""
    if auth.directory is None or session.user.source != "directory" or not auth.directory.can_recheck:
        return None
    try:
        account = auth.directory.check(session.user.username, now)
    except (DirectoryUnavailable, DirectoryRefused, UserError) as exc:
        log.warning("directory re-check of %s not done: %s", session.user.username, exc)
        return None  # an outage locks nothing: the next check tries again
    if account is None:
        why, sentence = "gone", "your directory account no longer exists"
    elif account.refusal:
        why, sentence = account.why, account.refusal
    elif account.role is not session.user.role:
        why, sentence = "role_changed", (f"your role in the directory changed to {account.role.value}: sign in "
                                         "again to go on with it")
    else:
        return None
    auth.audit.append(AuditEntry(Action.LOCKOUT, session.user.username, session.workstation, Outcome.DENIED,
                                 details={"why": "directory_recheck", "directory": why}))
    return f"The console locked: {sentence}."


def mark_break_glass(accounts, actor, username: str, marked: bool, now: datetime) -> User:
    """An administrator marks (or unmarks) the local administrator who can sign in when the directory is away."""
    actor_name = accounts._authorised(actor)
    with accounts._changing() as conn:
        user = accounts._existing(conn, username)
        if marked and (user.source != "local" or user.role.value != "admin"):
            raise UserError(f"only a local administrator account can be the break-glass account; {user.username} is "
                            f"a {user.source} {user.role.value} account")
        repo.set_break_glass(conn, user.id, marked)
        accounts._audit(conn, actor_name, Action.USER_CHANGE,
                        {"change": "break_glass_on" if marked else "break_glass_off", "user": user.username})
        return repo.get_user_by_id(conn, user.id)
