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


def same_name(a: str, b: str) -> bool:
    """Whether two owner names are the same person's as typed: case and spacing do not count, anything else does."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


@dataclass(frozen=True)
class OwnerConflict:
    """A row whose owner matched a registered owner by phone or e-mail, under another name: not imported, the
    registered owner left as they were. Names are kept only masked (`mask_text`), as lists show contacts."""

    row: int
    portal_id: str
    owner_id: int
    matched_on: str  # "phone" or "email"
    registry_name: str  # masked
    file_name: str  # masked

    def as_dict(self) -> dict:
        return {"row": self.row, "portal_id": self.portal_id, "owner_id": self.owner_id,
                "matched_on": self.matched_on, "registry_name": self.registry_name, "file_name": self.file_name}

    def __str__(self) -> str:
        return (f"row {self.row}, owner_name: the {self.matched_on} is registered owner #{self.owner_id}'s "
                f"({self.registry_name}), but this row names {self.file_name}: not imported, owner #{self.owner_id} "
                "left as it was; correct the row, or register this owner by phone intake")
