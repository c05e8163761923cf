"""The TLS check before a stream opens (rtsps://, https://): the certificate must verify, or match its pin.

FFmpeg's RTSP client opens its TLS connection without passing options down, so it cannot be told to verify;
libVLC's gives no reason when it refuses. Each session therefore starts with a handshake of our own, with
Python's ssl: against the system's CAs plus the configured CA file, with the host name checked, or, for a
self-signed gateway, only that the certificate's SHA-256 fingerprint is the one pinned for the camera. Only when
it passes does the player connect. (A server that swaps its certificate between the two handshakes is not
caught; the check stops the ordinary wrong or unknown certificate, which is what happens.)
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import ssl
from urllib.parse import urlsplit

from console.domain.cameras import normalize_fingerprint
from console.video.player import ErrorKind, StreamError

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"rtsps": 322, "https": 443}


def needs_tls_check(url: str) -> bool:
    return urlsplit(url).scheme.lower() in DEFAULT_PORTS


def untrusted(reason: str) -> StreamError:
    return StreamError(ErrorKind.UNTRUSTED, (
        f"The camera's certificate could not be verified ({reason}), so the stream was not opened; give the CA "
        "that signed it in the setting rtsps_ca_file, or pin the certificate's SHA-256 fingerprint for this camera."))


def check_certificate(url: str, ca_file: str | None = None, pin_sha256: str | None = None,
                      timeout: float = 5.0) -> str:
    """Handshake with the server of `url` and check its certificate; its SHA-256 fingerprint (hex) when it passes.

    Raises StreamError: UNTRUSTED (with why) for a certificate that does not verify or does not match the pin, or
    an unreadable CA file; UNREACHABLE / TIMED_OUT when the server cannot be reached or does not answer.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 443)
    pin = None
    if pin_sha256:
        try:
            pin = normalize_fingerprint(pin_sha256)
        except ValueError as exc:
            raise StreamError(ErrorKind.UNTRUSTED, f"The pinned certificate fingerprint is not valid: {exc}.") from None
    if pin:
        # A pin replaces the CA: self-signed gateways are why pins exist. The fingerprint is the whole check.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        if ca_file and not os.path.isfile(ca_file):
            raise StreamError(ErrorKind.UNTRUSTED, f"The RTSPS CA file {ca_file!r} does not exist; fix the setting "
                                                   "rtsps_ca_file (the stream was not opened).")
        try:
            context = ssl.create_default_context(cafile=ca_file or None)
        except (ssl.SSLError, OSError, ValueError):
            raise StreamError(ErrorKind.UNTRUSTED, f"The RTSPS CA file {ca_file!r} holds no readable PEM certificate; "
                                                   "fix the setting rtsps_ca_file (the stream was not opened).") from None
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            with context.wrap_socket(sock, server_hostname=host) as tls:
                der = tls.getpeercert(binary_form=True)
    except ssl.SSLCertVerificationError as exc:
        reason = (exc.verify_message or "verification failed").rstrip(".")
        log.info("TLS check of %s:%s refused the certificate: %s", host, port, reason)
        raise untrusted(reason) from None
    except ssl.SSLError as exc:
        log.info("TLS handshake with %s:%s failed: %s", host, port, exc.reason or exc)
        raise StreamError(ErrorKind.UNTRUSTED, "The camera did not complete a TLS handshake, so the stream was not "
                                               "opened; check that it serves RTSPS on that port.") from None
    except (TimeoutError, socket.timeout):
        raise StreamError(ErrorKind.TIMED_OUT) from None
    except OSError:
        raise StreamError(ErrorKind.UNREACHABLE) from None
    fingerprint = hashlib.sha256(der or b"").hexdigest()
    if pin and fingerprint != pin:
        log.info("TLS check of %s:%s: certificate %s is not the pinned %s", host, port, fingerprint, pin)
        raise untrusted(f"its SHA-256 fingerprint {_short(fingerprint)} is not the pinned {_short(pin)}")
    return fingerprint


def _short(fingerprint: str) -> str:
    return ":".join(fingerprint[i:i + 2] for i in range(0, 16, 2)).upper() + "…"
