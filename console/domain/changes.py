"""Changes to the shared registry that other consoles follow: what changed (kind and id), in commit order."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import NamedTuple


class ChangeKind(str, enum.Enum):
    CAMERA = "camera"
    OWNER = "owner"
    SITE = "site"
    GRANT = "grant"  # an owner alert raised, ended or revoked
    INCIDENT = "incident"
    FOOTAGE = "footage"  # a footage request or its contacts and files
    OUTREACH = "outreach"
    BULLETIN = "bulletin"  # an incident bulletin sent, a copy delivered, or a recipient group changed
    REGISTRY = "registry"  # many records at once (an import, a feed batch): reload what is shown


class Change(NamedTuple):
    seq: int
    at: datetime
    kind: ChangeKind
    record_id: int | None
    workstation: str
