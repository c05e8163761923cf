"""What the map and the nearby list show of a camera's consent now (three states), derived from `consent_now`.

There is no rule here: `consent_now` (console/domain/access.py) is the camera-and-consent part of `may_view`,
so a camera shown "live now" is one `may_view` opens for a permitted user with an open incident and a reason.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Iterable

from console.domain.access import AnyCamera, consent_now
from console.domain.grants import ShareGrant


class SharingState(str, enum.Enum):
    REGISTERED = "registered"  # location and contact only: call the owner for footage
    LIVE_NOT_NOW = "live_not_now"  # live-capable, but the camera or the owner's consent does not allow watching now
    LIVE_NOW = "live_now"  # may_view's camera and consent rules allow it now


def sharing_state(camera: AnyCamera, grants: Iterable[ShareGrant], now: datetime) -> SharingState:
    """The state shown for `camera` (as stored, or as the nearby search returns it) at `now`."""
    if not camera.is_live_capable:
        return SharingState.REGISTERED
    return SharingState.LIVE_NOW if consent_now(camera, grants, now).allowed else SharingState.LIVE_NOT_NOW
