"""Directory sign-in: the agency's Active Directory or LDAP server proves the password, and its groups give the role.

`DirectoryAuthenticator.authenticate` binds as the user (a DN template, a UPN, or search-then-bind with the service
account), reads the account (display name; Active Directory's disabled and expiry marks) and its groups, nested ones
included (Active Directory's in-chain matching rule 1.2.840.113556.1.4.1941 where the server says it is Active
Directory, else the nesting walked group by group, NESTING_DEPTH deep), and maps them to one role
(console/domain/directory.py). `check` reads the same with the service account, for the re-check of open sessions.

The link is always TLS with the certificate checked, names included (ldaps://, or ldap:// with StartTLS before the
bind; never a plain bind, never checks off). Every call has a timeout (ldap_timeout_s); a server that does not answer,
or whose certificate does not verify, is passed over for the next in ldap_urls, and when none is left the sentence
says what each one did. A typed user name is escaped for the filter or the DN it goes into. Referrals are not
followed. Passwords are never logged nor kept.
"""

from __future__ import annotations

import logging
import math
import os
import re
import ssl
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Mapping

import ldap3
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from console.domain.directory import (
    MAX_GROUPS,
    NESTING_DEPTH,
    DirectoryConfig,
    DirectoryUrl,
    account_refusal,
    normal_dn,
    parse_url,
    role_for_groups,
)
from console.domain.users import MAX_USERNAME_LENGTH, Role
from console.errors import UserError

log = logging.getLogger(__name__)

AD_CAPABILITY = "1.2.840.113556.1.4.800"  # LDAP_CAP_ACTIVE_DIRECTORY_OID in the root DSE's supportedCapabilities
IN_CHAIN = "1.2.840.113556.1.4.1941"  # LDAP_MATCHING_RULE_IN_CHAIN
WRONG = "wrong username or password"
ACCOUNT_ATTRIBUTES = ["displayName", "cn", "userAccountControl", "accountExpires"]
# Active Directory's reasons in a refused bind ("... data 533, ..."): what the person is told.
AD_BIND_DATA = {
    "525": None,  # no such user: said as a wrong password
    "52e": None,  # wrong password
    "530": "this directory account may not sign in at this time of day: ask the agency's IT",
    "531": "this directory account may not sign in from this workstation: ask the agency's IT",
    "532": "the directory password has expired: change it at a Windows sign-in, then sign in here",
    "533": "this directory account is disabled: ask the agency's IT",
    "701": "this directory account has expired: ask the agency's IT",
    "773": "the directory password must be changed first: change it at a Windows sign-in, then sign in here",
    "775": "this directory account is locked by the directory after failed sign-ins: ask the agency's IT",
}


class DirectoryUnavailable(UserError):
    """No directory server could be used (none answered, or none had a certificate that verifies)."""


class DirectoryRefused(UserError):
    """The directory answered and said no; `why` is the audit word, `counts` whether it counts towards lockout."""

    def __init__(self, message: str, why: str, counts: bool = False):
        super().__init__(message)
        self.why, self.counts = why, counts


@dataclass(frozen=True)
class DirectoryAccount:
    """What the directory said about one account."""

    username: str
    dn: str
    display_name: str
    groups: tuple[str, ...]  # every group it is in, nested ones included (as the directory spells them)
    mapped_groups: tuple[str, ...]
    role: Role | None
    refusal: str | None  # why it may not sign in now, or None
    why: str  # audit word for the refusal: disabled, expired, no_group, several_roles; "" when none
    server: str


class _VerifiedTls(ldap3.Tls):
    """TLS with the certificate and its name checked by Python's own context (ldap3's own name check uses the
    deprecated ssl.match_hostname); TLS 1.2 at least, the agency's CA only when one is named."""

    def __init__(self, ca_file: str):
        super().__init__(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file or None)

    def wrap_socket(self, connection, do_handshake=False):
        context = ssl.create_default_context(cafile=self.ca_certs_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        connection.socket = context.wrap_socket(connection.socket, server_side=False,
                                                server_hostname=connection.server.host,
                                                do_handshake_on_connect=do_handshake)


class _Unusable(Exception):
    """This server cannot be used now; the message says why, in a few words."""


def config_from_settings(settings, environ: Mapping[str, str] | None = None) -> DirectoryConfig | None:
    """None when the console signs in with its own accounts; the checked configuration when `auth = "ldap"`;
    UserError naming what is missing otherwise (the console does not start half-configured)."""
    if settings.auth != "ldap":
        return None
    environ = os.environ if environ is None else environ
    where = 'auth = "ldap" in the machine settings'
    if not settings.ldap_urls:
        raise UserError(f"{where} needs ldap_urls, the directory's servers (ldaps://...)")
    if not settings.ldap_group_roles:
        raise UserError(f"{where} needs ldap_group_roles, the table from group DN to console role")
    if not settings.ldap_group_base:
        raise UserError(f"{where} needs ldap_group_base, where the groups are")
    if not settings.ldap_user_dn_template and not (settings.ldap_bind_dn and settings.ldap_user_base
                                                   and settings.ldap_user_filter):
        raise UserError(f"{where} needs either ldap_user_dn_template, or ldap_bind_dn with ldap_user_base and "
                        "ldap_user_filter (search-then-bind)")
    if settings.ldap_user_dn_template and "=" not in settings.ldap_user_dn_template and not settings.ldap_user_base:
        raise UserError(f"{where}: a UPN template ({settings.ldap_user_dn_template!r}) needs ldap_user_base, where "
                        "the account is found after its bind")
    if settings.ldap_ca_file and not Path(settings.ldap_ca_file).is_file():
        raise UserError(f"ldap_ca_file {settings.ldap_ca_file!r} is not a file: give the PEM file of the CA that "
                        "signed the directory servers' certificates")
    password = _service_password(settings, environ) if settings.ldap_bind_dn else None
    return DirectoryConfig(
        urls=tuple(parse_url(u) for u in settings.ldap_urls), ca_file=settings.ldap_ca_file,
        user_dn_template=settings.ldap_user_dn_template, bind_dn=settings.ldap_bind_dn, bind_password=password,
        user_base=settings.ldap_user_base, user_filter=settings.ldap_user_filter,
        group_base=settings.ldap_group_base,
        group_roles={normal_dn(k): Role(v) for k, v in settings.ldap_group_roles.items()},
        timeout_s=float(settings.ldap_timeout_s), recheck_minutes=int(settings.ldap_recheck_minutes))


def authenticator_from_settings(settings, environ: Mapping[str, str] | None = None) -> "DirectoryAuthenticator | None":
    config = config_from_settings(settings, environ)
    return None if config is None else DirectoryAuthenticator(config)


def _service_password(settings, environ: Mapping[str, str]) -> str:
    if settings.ldap_bind_password_file:
        path = Path(settings.ldap_bind_password_file)
        try:
            info = path.stat()
            if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077 or info.st_size > 1024:
                raise UserError(f"ldap_bind_password_file {path} must be a small regular file only its owner can "
                                f"read (chmod 600 {path})")
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read ldap_bind_password_file {path}: "
                            f"{getattr(exc, 'strerror', None) or exc}") from None
        password = text.splitlines()[0] if text else ""
        if not password:
            raise UserError(f"ldap_bind_password_file {path} is empty: put the password on its first line")
        return password
    name = settings.ldap_bind_password_env
    value = environ.get(name, "") if name else ""
    if not value:
        raise UserError(f"ldap_bind_dn is set, but the service account's password is not: put it in the "
                        f"environment variable {name or '(ldap_bind_password_env)'}, or name a file (mode 0600) "
                        "in ldap_bind_password_file")
    return value


def _typed_name(username: str) -> str:
    name = (username or "").strip()
    if not name or len(name) > MAX_USERNAME_LENGTH or any(ord(c) < 32 or c == "\x7f" for c in name):
        raise DirectoryRefused(WRONG, "bad_name", counts=True)
    return name


class DirectoryAuthenticator:
    def __init__(self, config: DirectoryConfig):
        self.config = config

    @property
    def can_recheck(self) -> bool:
        """Open sessions can be re-checked only with a service account (the user's password is not kept)."""
        return bool(self.config.bind_dn and self.config.bind_password)

    @property
    def recheck_minutes(self) -> int:
        return self.config.recheck_minutes

    # --- the two uses -------------------------------------------------------------------------------------------

    def authenticate(self, username: str, password: str, now: datetime) -> DirectoryAccount:
        """The account, bound with its password and allowed to sign in; DirectoryRefused or DirectoryUnavailable."""
        name = _typed_name(username)
        if not password:
            # An empty password is an "unauthenticated bind" that many servers accept: never sent.
            raise DirectoryRefused(WRONG, "wrong_password", counts=True)
        account = self._on_some_server(lambda conn, url: self._bind_user(conn, url, name, password, now))
        if account.refusal:
            raise DirectoryRefused(account.refusal, account.why)
        return account

    def check(self, username: str, now: datetime) -> DirectoryAccount | None:
        """The account as the service account reads it now (None: the directory no longer has it)."""
        if not self.can_recheck:
            raise UserError("open sessions are re-checked only with a service account (ldap_bind_dn)")
        name = _typed_name(username)

        def read(conn, url):
            self._bind(conn, self.config.bind_dn, self.config.bind_password, service=True)
            dn = self._find_dn(conn, name)
            return None if dn is None else self._inspect(conn, url, name, dn, now)

        return self._on_some_server(read)

    # --- servers, in order ---------------------------------------------------------------------------------------

    def _on_some_server(self, work):
        problems = []
        for url in self.config.urls:
            try:
                conn = self._open(url)
            except _Unusable as exc:
                problems.append(f"{url.text}: {exc}")
                log.warning("directory server %s not used: %s", url.text, exc)
                continue
            try:
                return work(conn, url)
            except (ldap_errors.LDAPCommunicationError, ldap_errors.LDAPSocketReceiveError,
                    ldap_errors.LDAPSocketSendError, ldap_errors.LDAPSessionTerminatedByServerError,
                    ldap_errors.LDAPResponseTimeoutError, OSError) as exc:
                problems.append(f"{url.text}: stopped answering ({_short(exc)})")
                log.warning("directory server %s stopped answering: %s", url.text, _short(exc))
            finally:
                _close(conn)
        raise DirectoryUnavailable(
            "the directory cannot be reached, so directory accounts cannot sign in now ("
            + "; ".join(problems) + "): try again shortly, tell the agency's IT if it lasts, or sign in with the "
            "local break-glass administrator")

    def _open(self, url: DirectoryUrl) -> ldap3.Connection:
        timeout = self.config.timeout_s
        server = ldap3.Server(url.host, port=url.port, use_ssl=url.scheme == "ldaps",
                              tls=_VerifiedTls(self.config.ca_file), get_info=ldap3.NONE, connect_timeout=timeout)
        # ldap3 packs the receive timeout as whole seconds (SO_RCVTIMEO)
        conn = ldap3.Connection(server, auto_referrals=False, receive_timeout=max(1, math.ceil(timeout)),
                                read_only=True,
                                raise_exceptions=False, return_empty_attributes=False)
        try:
            conn.open()
            if url.scheme == "ldap" and not conn.start_tls():
                raise _Unusable(f"StartTLS refused ({conn.result.get('description', 'no answer')}): nothing was sent")
        except _Unusable:
            _close(conn)
            raise
        except (ldap_errors.LDAPException, OSError, ssl.SSLError) as exc:
            _close(conn)
            raise _Unusable(_why_unusable(exc)) from None
        if not conn.tls_started and not server.ssl:  # never a bind in the clear
            _close(conn)
            raise _Unusable("the link is not encrypted")
        return conn

    # --- binding and reading -------------------------------------------------------------------------------------

    def _bind(self, conn: ldap3.Connection, dn: str, password: str, service: bool = False) -> None:
        conn.user, conn.password, conn.authentication = dn, password, ldap3.SIMPLE
        if conn.bind():
            return
        result = conn.result or {}
        if service:
            raise DirectoryUnavailable(f"the directory refused the console's service account {dn} "
                                       f"({result.get('description', '')}): ask the agency's IT to check it and its "
                                       "password (ldap_bind_dn, ldap_bind_password_env)")
        if result.get("description") == "invalidCredentials":
            data = re.search(r"data ([0-9a-f]{3})", str(result.get("message", "")))
            sentence = AD_BIND_DATA.get(data.group(1)) if data else None
            if sentence:
                raise DirectoryRefused(sentence, f"directory_{data.group(1)}")
            raise DirectoryRefused(WRONG, "wrong_password", counts=True)
        if result.get("description") in ("unwillingToPerform", "inappropriateAuthentication", "confidentialityRequired"):
            raise DirectoryRefused(f"the directory refused the sign-in ({result.get('description')}): ask the "
                                   "agency's IT", "directory_refused")
        raise ldap_errors.LDAPCommunicationError(str(result.get("description") or "no answer to the bind"))

    def _bind_user(self, conn, url, name: str, password: str, now: datetime) -> DirectoryAccount:
        template = self.config.user_dn_template
        if template and "=" in template:  # a DN
            dn = template.replace("{user}", escape_rdn(name))
            self._bind(conn, dn, password)
        elif template:  # a UPN: bind with it, then find the entry it names
            upn = template.replace("{user}", name)
            self._bind(conn, upn, password)
            dn = self._search_one(conn, self.config.user_base, f"(userPrincipalName={escape_filter_chars(upn)})")
            if dn is None:
                raise DirectoryRefused("the directory accepted the password but its account cannot be read under "
                                       "ldap_user_base: ask the agency's IT", "unreadable")
        else:  # search-then-bind with the service account
            self._bind(conn, self.config.bind_dn, self.config.bind_password, service=True)
            dn = self._find_dn(conn, name)
            if dn is None:
                raise DirectoryRefused(WRONG, "unknown_user", counts=True)
            self._bind(conn, dn, password)
        return self._inspect(conn, url, name, dn, now)

    def _find_dn(self, conn, name: str) -> str | None:
        template = self.config.user_dn_template
        if template and "=" in template:
            dn = template.replace("{user}", escape_rdn(name))
            found = conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=[],
                                size_limit=1, time_limit=int(self.config.timeout_s) + 1)
            _raise_if_lost(conn)
            return dn if found and conn.entries else None
        if template:
            upn = template.replace("{user}", name)
            return self._search_one(conn, self.config.user_base, f"(userPrincipalName={escape_filter_chars(upn)})")
        return self._search_one(conn, self.config.user_base,
                                self.config.user_filter.replace("{user}", escape_filter_chars(name)))

    def _search_one(self, conn, base: str, search_filter: str) -> str | None:
        conn.search(base, search_filter, search_scope=ldap3.SUBTREE, attributes=[], size_limit=2,
                    time_limit=int(self.config.timeout_s) + 1)
        _raise_if_lost(conn)
        if conn.result.get("description") not in ("success", "sizeLimitExceeded", "noSuchObject"):
            raise DirectoryRefused(f"the directory cannot search for the account "
                                   f"({conn.result.get('description')}): ask the agency's IT", "search_failed")
        entries = [e.entry_dn for e in conn.entries]
        if len(entries) != 1:
            return None  # none, or more than one (a filter that is not unique never picks one of them)
        return entries[0]

    def _inspect(self, conn, url: DirectoryUrl, name: str, dn: str, now: datetime) -> DirectoryAccount:
        conn.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=ACCOUNT_ATTRIBUTES,
                    time_limit=int(self.config.timeout_s) + 1)
        _raise_if_lost(conn)
        if not conn.entries:
            raise DirectoryRefused("the directory accepted the password but its account cannot be read: ask the "
                                   "agency's IT to let the account read its own entry", "unreadable")
        attrs = conn.entries[0].entry_attributes_as_dict
        display = _first(attrs, "displayName") or _first(attrs, "cn") or name
        refusal = account_refusal(_int(_first(attrs, "userAccountControl")), _int(_first(attrs, "accountExpires")),
                                  now)
        why = ("disabled" if "disabled" in refusal else "expired") if refusal else ""
        groups = self._groups(conn, dn)
        decision = role_for_groups(groups, self.config.group_roles)
        if refusal is None and decision.refusal:
            refusal, why = decision.refusal, "no_group" if not decision.mapped else "several_roles"
        return DirectoryAccount(username=name.lower(), dn=dn, display_name=str(display)[:200], groups=groups,
                                mapped_groups=decision.mapped, role=decision.role, refusal=refusal, why=why,
                                server=url.text)

    def _groups(self, conn, dn: str) -> tuple[str, ...]:
        base = self.config.group_base
        limit = int(self.config.timeout_s) + 1
        if self._is_active_directory(conn):
            conn.search(base, f"(member:{IN_CHAIN}:={escape_filter_chars(dn)})", search_scope=ldap3.SUBTREE,
                        attributes=[], size_limit=MAX_GROUPS, time_limit=limit)
            _raise_if_lost(conn)
            self._check_group_search(conn)
            return tuple(sorted(e.entry_dn for e in conn.entries))
        found: dict[str, str] = {}
        frontier = [dn]
        for _ in range(NESTING_DEPTH):
            if not frontier:
                break
            members = "".join(f"(member={escape_filter_chars(m)})" for m in frontier)
            conn.search(base, f"(|{members})", search_scope=ldap3.SUBTREE, attributes=[], size_limit=MAX_GROUPS,
                        time_limit=limit)
            _raise_if_lost(conn)
            self._check_group_search(conn)
            frontier = []
            for entry in conn.entries:
                key = normal_dn(entry.entry_dn)
                if key not in found:
                    found[key] = entry.entry_dn
                    frontier.append(entry.entry_dn)
            if len(found) > MAX_GROUPS:
                break
        return tuple(sorted(found.values()))

    def _check_group_search(self, conn) -> None:
        description = conn.result.get("description")
        if description == "sizeLimitExceeded" or len(conn.entries) >= MAX_GROUPS:
            raise DirectoryRefused(f"this directory account is in more than {MAX_GROUPS} groups: its role cannot be "
                                   "decided; ask the agency's IT", "too_many_groups")
        if description not in ("success", "noSuchObject"):
            raise DirectoryRefused(f"the directory cannot list the account's groups ({description}): ask the "
                                   "agency's IT (ldap_group_base)", "groups_unreadable")

    def _is_active_directory(self, conn) -> bool:
        conn.search("", "(objectClass=*)", search_scope=ldap3.BASE, attributes=["supportedCapabilities"],
                    time_limit=int(self.config.timeout_s) + 1)
        _raise_if_lost(conn)
        if not conn.entries:
            return False
        return AD_CAPABILITY in (conn.entries[0].entry_attributes_as_dict.get("supportedCapabilities") or [])


def _raise_if_lost(conn) -> None:
    """ldap3 (raise_exceptions off) reports a lost link in the result: raise it so the next server is tried."""
    if conn.closed or not conn.bound:
        raise ldap_errors.LDAPCommunicationError(str(conn.last_error or "the link closed"))


def _first(attrs: dict, key: str):
    values = attrs.get(key) or []
    return values[0] if values else None


def _int(value) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _close(conn) -> None:
    try:
        conn.unbind()
    except Exception:  # the socket may never have opened
        pass
    sock = getattr(conn, "socket", None)  # ldap3 leaves a socket whose connect or TLS handshake failed
    if sock is not None:
        try:
            sock.close()
        except OSError:
            pass


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else exc.__class__.__name__)[:200]


def _why_unusable(exc: BaseException) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        detail = re.search(r"certificate verify failed: ([^(\]'\"]+)", text)
        return ("its certificate does not verify"
                + (f" ({detail.group(1).strip()})" if detail else "")
                + ": it is not signed by the CA in ldap_ca_file, or is not for this server's name")
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        return "it does not speak TLS on this port (ldaps:// to an ldap:// port?)"
    if "timed out" in text.lower() or "timeout" in text.lower():
        return "no answer within ldap_timeout_s"
    if "refused" in text.lower():
        return "connection refused (no directory server listens there)"
    return _short(exc)
