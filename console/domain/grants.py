"""Share grants: an owner's alert (app, panic button, staff on the owner's call) that opens a window of live access."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class GrantSource(str, enum.Enum):
    APP = "app"
    PANIC_BUTTON = "panic_button"
    STAFF = "staff"
    FEED = "feed"


@dataclass(frozen=True)
class ShareGrant:
    id: int | None
    camera_id: int | None  # one camera, or
    site_id: int | None  # every camera of a site
    starts_at: datetime
    expires_at: datetime
    source: GrantSource
    revoked_at: datetime | None = None

    def covers(self, camera_id: int, site_id: int | None) -> bool:
        return self.camera_id == camera_id or (self.camera_id is None and self.site_id == site_id)

    def in_force(self, now: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.starts_at <= now < self.expires_at
