"""What a tile needs to show one authorised live view: the streams, the expiry, the labels (Qt-free)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from console.video.source import StreamSource


@dataclass(frozen=True)
class LiveView:
    """One granted look at one camera. `sub` is the lighter stream small tiles use; `main` when maximised."""

    camera_id: int
    camera_label: str
    main: StreamSource
    expires_at: datetime  # UTC
    session_id: str | int | None = None
    sub: StreamSource | None = None
    user: str = ""
    incident: str = ""
    extra: dict = field(default_factory=dict, repr=False)

    def remaining_seconds(self, now: datetime | None = None) -> float:
        now = now or datetime.now(timezone.utc)
        return (self.expires_at - now).total_seconds()

    def source_for(self, maximised: bool) -> StreamSource:
        return self.main if maximised or self.sub is None else self.sub

    @classmethod
    def from_authorization(cls, auth, camera_id: int, camera_label: str, user: str = "", incident: str = "",
                           sub_url: str | None = None) -> "LiveView":
        """Adapt a ViewingService authorization (stream URL, credentials, expiry, session id) to a LiveView."""
        creds = getattr(auth, "credentials", None)
        username = getattr(creds, "username", None) if creds is not None else None
        password = getattr(creds, "password", None) if creds is not None else None
        token = getattr(creds, "token", None) if creds is not None else None
        url = getattr(auth, "stream_url", None) or getattr(auth, "url")
        protocol = getattr(getattr(auth, "stream", None), "protocol", None)  # WHEP URLs need not say "whep"
        pin = getattr(auth, "tls_pin_sha256", None)  # the camera's pinned certificate, for a self-signed one
        main = StreamSource.from_url(url, protocol=protocol, pin_sha256=pin, **{
            k: v for k, v in (("username", username), ("password", password), ("token", token)) if v})
        sub = None
        if sub_url:
            sub = StreamSource.from_url(sub_url, username=main.username, password=main.password, token=main.token,
                                        protocol=protocol, pin_sha256=pin)
        return cls(camera_id=camera_id, camera_label=camera_label, main=main, sub=sub,
                   expires_at=auth.expires_at, session_id=getattr(auth, "session_id", None), user=user,
                   incident=incident)
