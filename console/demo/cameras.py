"""Which demo cameras the gateway serves: the key of a registered demo stream URL, and the training site's faults.

Demo stream URLs stay as registered (gw-N.demo.invalid, training.demo.invalid: the reserved .invalid name can never
be a real camera); `demo_key` is the one place that reads them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

GATEWAY_HOST = re.compile(r"^(gw-[1-9][0-9]{0,8})\.demo\.invalid$")
TRAINING_HOST = "training.demo.invalid"
_CAMERA = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")

OFFLINE, FROZEN, WRONG_PASSWORD = "offline", "frozen", "wrong-password"
TRAINING_FAULTS = (OFFLINE, FROZEN, WRONG_PASSWORD)
ALERT_DRILL = "alert-drill"  # the training site's on-alert camera: the demo owner raises an alert every 5 minutes


@dataclass(frozen=True)
class DemoKey:
    """A demo stream: which camera (`site/cam`) and how the console reaches it (whep or hls)."""

    camera: str
    protocol: str  # "whep" | "hls"


def demo_key(url: str) -> DemoKey | None:
    """The demo camera a registered stream URL names, or None for any URL that is not a demo stream."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if parts.username or parts.password:
        return None
    found = GATEWAY_HOST.match(host)
    site = found.group(1) if found else "training" if host == TRAINING_HOST else None
    if site is None:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme in ("rtsp", "rtsps") and port in (None, 554, 322) and len(segments) == 2 \
            and segments[1] in ("main", "sub") and _CAMERA.match(segments[0]):
        return DemoKey(f"{site}/{segments[0]}", "hls")  # RTSP cameras are served as HLS (played by libVLC)
    if parts.scheme == "https" and port in (None, 443) and len(segments) == 2 and segments[0] == "whep" \
            and _CAMERA.match(segments[1]):
        return DemoKey(f"{site}/{segments[1]}", "whep")
    return None


@dataclass(frozen=True)
class DemoCamera:
    """One camera the gateway serves, with the credentials it asks for (none: it asks for none)."""

    key: str  # site/cam
    label: str
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    fault: str | None = None  # one of TRAINING_FAULTS for the training site's broken cameras

    @classmethod
    def of(cls, key: str, label: str, username: str | None, password: str | None) -> "DemoCamera":
        site, _, cam = key.partition("/")
        fault = cam if site == "training" and cam in TRAINING_FAULTS else None
        if fault == WRONG_PASSWORD:  # the registry holds a password this camera does not take
            password = f"not-{password or ''}"
        return cls(key, label, username, password, fault)
