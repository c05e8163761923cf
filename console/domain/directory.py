"""Directory sign-in, the pure part: the settings checked as untrusted, groups to one role, and an account's state.

The directory (Active Directory or another LDAP server) proves the password; its groups give the console role through
the machine settings' table `ldap_group_roles` (group DN -> role). An account in no mapped group has no role and
cannot sign in; an account in groups mapped to two different roles is refused too (one account, one role: an
administrator who also dispatches needs two accounts). Active Directory's `userAccountControl` (bit 2: disabled) and
`accountExpires` (Windows FILETIME, 0 or 2**63-1: never) say whether the account may be used at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from console.domain.users import Role, parse_role
from console.errors import UserError

MAX_URLS = 8
MAX_TEXT = 500
MAX_GROUP_ROLES = 200
MAX_GROUPS = 2000  # groups read for one account (nested ones included): beyond that the account is refused
NESTING_DEPTH = 8  # how deep nested groups are followed where the server has no in-chain matching rule
_URL = re.compile(r"^(ldaps?)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(?::(\d{1,5}))?/?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_DN_PART = re.compile(r"^[A-Za-z][A-Za-z0-9-]*=.+$")
ACCOUNTDISABLE = 0x2
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)
NEVER = (0, 0x7FFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class DirectoryUrl:
    scheme: str  # "ldaps" or "ldap" (StartTLS)
    host: str
    port: int

    @property
    def text(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def parse_url(text: str) -> DirectoryUrl:
    match = _URL.match(text.strip()) if isinstance(text, str) and len(text) <= 300 else None
    if not match:
        raise ValueError(f"{str(text)[:80]!r} is not a directory server URL like ldaps://dc1.example.gov or "
                         "ldap://dc1.example.gov:389 (no user, path or query)")
    scheme, host, port = match.group(1), match.group(2).strip("[]"), match.group(3)
    number = int(port) if port else (636 if scheme == "ldaps" else 389)
    if not 0 < number < 65536:
        raise ValueError(f"{text[:80]!r}: the port must be between 1 and 65535")
    return DirectoryUrl(scheme, host, number)


def _dn(value: str, what: str) -> str:
    value = value.strip()
    if len(value) > MAX_TEXT or any(ord(c) < 32 for c in value):
        raise ValueError(f"{what} is too long or holds control characters")
    if value and not all(_DN_PART.match(part.strip()) for part in re.split(r"(?<!\\),", value)):
        raise ValueError(f"{what} {value[:80]!r} is not a DN like ou=people,dc=example,dc=gov")
    return value


def checked_directory_value(key: str, value: Any, where: str) -> Any:
    """The value of one ldap_* setting, checked (it comes from a file: untrusted); UserError saying what is wrong."""
    try:
        return _checked(key, value)
    except ValueError as exc:
        raise UserError(f"{where}: {key}: {exc}") from None


def _checked(key: str, value: Any) -> Any:
    if key == "ldap_urls":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ValueError('must be a list of URLs, like ["ldaps://dc1.example.gov", "ldaps://dc2.example.gov"]')
        if len(value) > MAX_URLS:
            raise ValueError(f"at most {MAX_URLS} servers")
        for v in value:
            parse_url(v)
        return tuple(v.strip() for v in value)
    if key == "ldap_group_roles":
        if not isinstance(value, dict) or len(value) > MAX_GROUP_ROLES:
            raise ValueError(f"must be a table of at most {MAX_GROUP_ROLES} group DNs, each = a role, like "
                             '{"cn=RTIC Dispatch,ou=groups,dc=example,dc=gov" = "dispatcher"}')
        table = {}
        for group, role in value.items():
            if not isinstance(role, str):
                raise ValueError(f"the role of {str(group)[:80]!r} must be a role name, not {role!r}")
            dn = _dn(str(group), "a group")
            if not dn:
                raise ValueError("a group DN is empty")
            table[normal_dn(dn)] = parse_role(role).value
        return table
    if not isinstance(value, str):
        return value  # numbers: checked by their declaration (minimum)
    if key == "ldap_user_dn_template":
        text = value.strip()
        if text and text.count("{user}") != 1:
            raise ValueError('must hold {user} once, like "uid={user},ou=people,dc=example,dc=gov" or '
                             '"{user}@example.gov"')
        if len(text) > MAX_TEXT or any(ord(c) < 32 for c in text) or re.search(r"\{(?!user\})", text):
            raise ValueError("is too long, holds control characters or a { other than {user}")
        if "=" in text:
            _dn(text.replace("{user}", "x"), "the template")
        return text
    if key == "ldap_user_filter":
        text = value.strip()
        if not (text.startswith("(") and text.endswith(")") and text.count("{user}") >= 1
                and text.count("(") == text.count(")") and len(text) <= MAX_TEXT
                and not re.search(r"\{(?!user\})", text) and not any(ord(c) < 32 for c in text)):
            raise ValueError('must be one LDAP filter in parentheses holding {user}, like "(uid={user})" or '
                             '"(&(objectCategory=person)(sAMAccountName={user}))"')
        return text
    if key in ("ldap_bind_dn", "ldap_user_base", "ldap_group_base"):
        return _dn(value, key)
    if key == "ldap_bind_password_env":
        if value and not _ENV_NAME.match(value):
            raise ValueError(f"{value[:80]!r} is not an environment variable name")
        return value
    if key in ("ldap_ca_file", "ldap_bind_password_file"):
        if len(value) > 4096 or any(ord(c) < 32 for c in value):
            raise ValueError("is not a file path")
        return value.strip()
    return value


def normal_dn(dn: str) -> str:
    """A DN compared without case and without spaces around its commas and equals signs (as directories compare)."""
    parts = re.split(r"(?<!\\),", dn.strip())
    return ",".join("=".join(side.strip() for side in part.split("=", 1)) for part in parts).lower()


@dataclass(frozen=True)
class DirectoryConfig:
    """The directory sign-in settings in force, checked together."""

    urls: tuple[DirectoryUrl, ...]
    ca_file: str
    user_dn_template: str
    bind_dn: str
    bind_password: str | None  # the service account's, read from its variable or file; never logged
    user_base: str
    user_filter: str
    group_base: str
    group_roles: Mapping[str, Role]
    timeout_s: float
    recheck_minutes: int

    def __repr__(self) -> str:  # the password never shows
        return f"DirectoryConfig(urls={[u.text for u in self.urls]}, bind_dn={self.bind_dn!r})"

    @property
    def search_then_bind(self) -> bool:
        return not self.user_dn_template


# --- groups to a role, and an account's state ---------------------------------------------------------------------

@dataclass(frozen=True)
class RoleDecision:
    role: Role | None
    mapped: tuple[str, ...]  # the account's groups found in the table
    refusal: str | None  # why it may not sign in, or None


def role_for_groups(groups: Iterable[str], table: Mapping[str, Role]) -> RoleDecision:
    """The one role the account's groups give, or why none."""
    mapped = tuple(sorted(g for g in {normal_dn(g) for g in groups} if g in table))
    roles = sorted({table[g].value for g in mapped})
    if not roles:
        return RoleDecision(None, (), "this directory account is in none of the groups that give a console role: "
                                      "ask the agency's IT to add it to one (ldap_group_roles)")
    if len(roles) > 1:
        return RoleDecision(None, mapped, f"this directory account is in groups of several console roles "
                                          f"({', '.join(roles)}): an account has one role; ask the agency's IT to "
                                          "leave it in the groups of one")
    return RoleDecision(Role(roles[0]), mapped, None)


def filetime(value: int) -> datetime | None:
    """Active Directory's 100-ns intervals since 1601 as a time, or None for 'never'."""
    if value in NEVER or value < 0:
        return None
    try:
        return FILETIME_EPOCH + timedelta(microseconds=value // 10)
    except OverflowError:
        return None


def account_refusal(user_account_control: int | None, account_expires: int | None, now: datetime) -> str | None:
    """Why the directory says this account may not be used now (disabled, expired), or None."""
    if user_account_control is not None and user_account_control & ACCOUNTDISABLE:
        return "this directory account is disabled: ask the agency's IT"
    expires = filetime(account_expires) if account_expires is not None else None
    if expires is not None and expires <= now:
        return f"this directory account expired on {expires:%Y-%m-%d}: ask the agency's IT"
    return None
