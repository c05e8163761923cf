"""Camera owners and their sites. Contact details are confidential: see `OwnerContact`."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class OwnerKind(str, enum.Enum):
    RESIDENT = "resident"
    BUSINESS = "business"


@dataclass(frozen=True)
class OwnerContact:
    """Who to call. Stored encrypted; shown masked until a permitted, audited reveal."""

    name: str
    organisation: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""
    readable: bool = True  # False: the stored record could not be decrypted with this key (name "(unreadable)")

    def masked(self) -> "OwnerContact":
        if not self.readable:
            return self
        return OwnerContact(
            name=mask_text(self.name),
            organisation=self.organisation,  # a business name is public
            phone=mask_phone(self.phone),
            email=mask_email(self.email),
            address=self.address,  # the site address is on the map anyway
        )

    def __repr__(self) -> str:  # keep contact details out of logs and tracebacks
        return "OwnerContact(<confidential>)"

    __str__ = __repr__


@dataclass(frozen=True)
class Owner:
    id: int | None
    kind: OwnerKind
    contact: OwnerContact
    portal_id: str | None = None
    is_demo: bool = False


@dataclass(frozen=True)
class Site:
    """A property (a home, a shop) where one owner has one or more cameras."""

    id: int | None
    owner_id: int
    name: str
    address: str
    lat: float
    lon: float


def mask_text(text: str) -> str:
    """'Maria Lopez' -> 'M**** L****'."""
    return " ".join(word[:1] + "*" * max(len(word) - 1, 0) for word in text.split())


def mask_phone(phone: str) -> str:
    digits = [c for c in phone if c.isdigit()]
    return f"***-***-{''.join(digits[-2:]):*>4}" if digits else ""


def mask_email(email: str) -> str:
    local, at, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if at else ""
