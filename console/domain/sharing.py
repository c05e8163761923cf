"""Whether police may watch a camera right now, as the map and the nearby list show it (three states)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Iterable

from console.domain.cameras import CameraStatus, Capability, SharingMode
from console.domain.grants import ShareGrant


class SharingState(str, enum.Enum):
    REGISTERED = "registered"  # location and contact only: call the owner for footage
    LIVE_NOT_NOW = "live_not_now"  # live-capable, but the owner's consent does not allow watching now
    LIVE_NOW = "live_now"  # sharing mode always, or an owner alert in force


def sharing_state(capability: Capability, status: CameraStatus, sharing_mode: SharingMode, camera_id: int,
                  site_id: int | None, grants: Iterable[ShareGrant], now: datetime) -> SharingState:
    if capability is not Capability.LIVE:
        return SharingState.REGISTERED
    if status is not CameraStatus.ACTIVE or sharing_mode is SharingMode.NEVER:
        return SharingState.LIVE_NOT_NOW
    if sharing_mode is SharingMode.ALWAYS:
        return SharingState.LIVE_NOW
    if current_grant(camera_id, site_id, grants, now) is not None:
        return SharingState.LIVE_NOW
    return SharingState.LIVE_NOT_NOW


def current_grant(camera_id: int, site_id: int | None, grants: Iterable[ShareGrant],
                  now: datetime) -> ShareGrant | None:
    """The grant in force now that covers the camera and lasts longest, or None."""
    best = None
    for grant in grants:
        if grant.covers(camera_id, site_id) and grant.in_force(now):
            if best is None or grant.expires_at > best.expires_at:
                best = grant
    return best
