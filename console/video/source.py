"""What to play (URL kept apart from its secrets) and how to keep those secrets out of every message."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit, urlunsplit

from console.domain.cameras import (StreamProtocol, fill_stream_credentials, has_query_credentials,
                                    split_stream_credentials, stream_protocol)
from console.domain.redaction import redact

__all__ = ["StreamSource", "protocol_of", "redact"]


def protocol_of(url: str) -> StreamProtocol | None:
    """The stream protocol of a URL by the domain's one classifier, or None when it is not a stream URL it knows
    (a local file, say)."""
    try:
        return stream_protocol(url)
    except ValueError:
        return None


@dataclass(frozen=True)
class StreamSource:
    """A stream to open: a URL without credentials plus the credentials, which no repr or message shows."""

    url: str
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)  # WHEP bearer token
    protocol: StreamProtocol | None = None
    transport: str = "tcp"  # RTSP lower transport: tcp or udp
    ice_servers: tuple[str, ...] = ()  # WebRTC; none for a LAN gateway
    # TLS (rtsps://, https://): the certificate must verify against the system's CAs plus `ca_file` (a PEM
    # bundle, the setting rtsps_ca_file), or, for a self-signed gateway, have this SHA-256 fingerprint (hex).
    ca_file: str | None = None
    pin_sha256: str | None = None

    @classmethod
    def from_url(cls, url: str, **kwargs) -> "StreamSource":
        """Split credentials typed into a URL (rtsp://user:pass@host/..., or ?user=..&pwd=.. in the query) out
        of it; query credentials leave {user}/{password} placeholders, filled in only to open the stream."""
        url, username, password = split_stream_credentials(url)
        kwargs.setdefault("username", username)
        kwargs.setdefault("password", password)
        return cls(url=url, **kwargs)

    @property
    def kind(self) -> StreamProtocol | None:
        return self.protocol or protocol_of(self.url)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.password, self.token) if s)

    @property
    def display_url(self) -> str:
        """The URL as it may be shown or logged."""
        return self.redact(self.url)

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def url_with_credentials(self) -> str:
        """The URL with the credentials inside (user:password@, or in the query where the camera takes them
        there), percent-encoded, for clients (FFmpeg) that take them that way. Never log it."""
        if has_query_credentials(self.url):
            return fill_stream_credentials(self.url, self.username, self.password)
        if not self.username:
            return self.url
        parts = urlsplit(self.url)
        userinfo = quote(self.username, safe="")
        if self.password:
            userinfo += ":" + quote(self.password, safe="")
        return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))

    def __str__(self) -> str:
        return self.display_url

    def __repr__(self) -> str:  # a token in the query must not reach a log line through a repr either
        return (f"StreamSource(url={self.display_url!r}, protocol={self.protocol!r}, transport={self.transport!r}, "
                f"ice_servers={tuple(redact(s) for s in self.ice_servers)!r})")
