"""The bulletins' e-mail outbox: each copy leaves through the agency's SMTP relay once, whichever console sends it.

A copy is claimed by compare-and-set before it is sent (console/store/bulletins.py), so two consoles delivering at
once never both send it. The relay's answer decides what happens next: accepted -> sent; refused for good (5xx for
that message or address, or the message is bigger than the relay takes) -> failed, with the relay's words; anything
else (relay down, slow, 4xx, STARTTLS or sign-in refused) -> queued again after 5, 10, 20 ... at most 300 seconds.
A copy left "sending" by a console that died is taken again after 10 minutes and sent with the same Message-ID, so
a relay or mailbox that did receive the first try can tell the two apart. STARTTLS is required unless the machine
settings say otherwise, and the relay's certificate is checked; the password is read from the environment variable
the settings name, and never written anywhere.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from console.domain.bulletins import STALE_SENDING, Bulletin, DeliveryState, Recipient, backoff_s, normalise_address
from console.domain.changes import ChangeKind
from console.domain.redaction import redact
from console.errors import UserError
from console.services.background import BackgroundLoop
from console.store import bulletins as repo
from console.store.changes import record_change
from console.store.db import Database

log = logging.getLogger(__name__)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    starttls: bool = True
    ca_file: str = ""
    sender: str = ""
    user: str = ""
    password_env: str = "RTIC_SMTP_PASSWORD"
    timeout_s: float = 30.0

    @classmethod
    def from_settings(cls, settings) -> "SmtpConfig":
        return cls(settings.smtp_host, int(settings.smtp_port), bool(settings.smtp_starttls), settings.smtp_ca_file,
                   settings.smtp_from, settings.smtp_user, settings.smtp_password_env, float(settings.smtp_timeout_s))

    @property
    def problem(self) -> str:
        """Why nothing can be sent with this configuration; '' when it can."""
        if not self.host:
            return "no SMTP relay is set (setting smtp_host): the e-mail copies wait in the outbox"
        if not self.sender or "@" not in self.sender:
            return "no sender address is set (setting smtp_from): the e-mail copies wait in the outbox"
        try:
            normalise_address(self.sender)
        except UserError:
            return (f"the sender address {self.sender[:80]!r} (setting smtp_from) is not an e-mail address: the "
                    "e-mail copies wait in the outbox")
        if self.user and not os.environ.get(self.password_env):
            return (f"the relay password is not in the environment variable {self.password_env} "
                    "(setting smtp_password_env): the e-mail copies wait in the outbox")
        return ""

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


@dataclass
class DeliveryReport:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    skipped: int = 0  # claimed by another console first
    problem: str = ""
    errors: list[str] = field(default_factory=list)


class _Temporary(Exception):
    pass


class _Permanent(Exception):
    pass


def build_message(bulletin: Bulletin, recipient: Recipient, sender: str) -> EmailMessage:
    message = EmailMessage()
    first_line = (bulletin.text.splitlines() or [""])[0][:70]
    incident = bulletin.cad_number or f"incident {bulletin.incident_id}"
    message["Subject"] = f"RTIC bulletin {incident}" + (f": {first_line}" if first_line else "")
    message["From"] = sender
    message["To"] = recipient.address
    message["Date"] = format_datetime(bulletin.sent_at.astimezone(timezone.utc))
    message["Message-ID"] = recipient.message_id
    message["X-RTIC-Bulletin"] = f"{bulletin.id}; sha256={bulletin.content_sha256}"
    lines = [f"Incident: {incident}", f"Sent by: {bulletin.sent_by} at {bulletin.sent_at:%Y-%m-%d %H:%M:%S} UTC"]
    if bulletin.reason:
        lines.append(f"Reason: {bulletin.reason}")
    lines += ["", bulletin.text or "(no text)", ""]
    for a in bulletin.attachments:
        lines.append(f"Attached {a.name}: SHA-256 {a.sha256} ({a.size} bytes)")
    lines.append(f"Bulletin SHA-256: {bulletin.content_sha256}")
    message.set_content("\n".join(lines) + "\n")
    for a in bulletin.attachments:
        maintype, subtype = a.kind.value.split("/")
        message.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.name)
    return message


class BulletinOutbox:
    def __init__(self, database: Database, config: SmtpConfig, workstation: str):
        self.database = database
        self.config = config
        self.workstation = workstation

    def deliver_due(self, now: datetime | None = None, limit: int = 20) -> DeliveryReport:
        """Send every copy due now (blocking: call it off the GUI thread)."""
        return asyncio.run(self.adeliver_due(now, limit))

    async def adeliver_due(self, now: datetime | None = None, limit: int = 20) -> DeliveryReport:
        report = DeliveryReport(problem=self.config.problem)
        if report.problem:
            return report
        now = now or datetime.now(timezone.utc)
        stale_before = now - STALE_SENDING
        with self.database.engine.connect() as conn:
            ids = repo.due_ids(conn, now, stale_before, limit)
        for recipient_id in ids:
            await self._deliver_one(recipient_id, now, stale_before, report)
        return report

    async def _deliver_one(self, recipient_id: int, now: datetime, stale_before: datetime,
                           report: DeliveryReport) -> None:
        with self.database.engine.begin() as conn:
            if not repo.claim(conn, recipient_id, self.workstation, now, stale_before):
                report.skipped += 1
                return
            recipient = repo.get_recipient(conn, recipient_id)
            bulletin = repo.get_bulletin(conn, recipient.bulletin_id)
        try:
            try:
                await self._send(build_message(bulletin, recipient, self.config.sender), recipient.address)
            except (_Permanent, _Temporary):
                raise
            except Exception as exc:  # a fault nobody foresaw: logged, and the copy waits for the next try
                log.exception("bulletin copy %s: unexpected failure while sending", recipient.id)
                raise _Temporary(f"sending failed ({exc.__class__.__name__})") from None
        except _Permanent as exc:
            self._finish(recipient, bulletin, DeliveryState.FAILED, str(exc))
            report.failed += 1
            report.errors.append(f"bulletin {bulletin.id} copy {recipient.id}: {exc}")
        except _Temporary as exc:
            wait = backoff_s(recipient.attempts)
            self._finish(recipient, bulletin, DeliveryState.QUEUED, str(exc),
                         next_attempt_at=datetime.now(timezone.utc) + timedelta(seconds=wait))
            report.retry += 1
            report.errors.append(f"bulletin {bulletin.id} copy {recipient.id}: {exc} (next try in {wait:g} s)")
        else:
            self._finish(recipient, bulletin, DeliveryState.SENT, "", sent_at=datetime.now(timezone.utc))
            report.sent += 1

    def _finish(self, recipient: Recipient, bulletin: Bulletin, state: DeliveryState, error: str, **kw) -> None:
        with self.database.engine.begin() as conn:
            if repo.finish(conn, recipient.id, self.workstation, recipient.claimed_at, state,
                           redact(_plain(error), (os.environ.get(self.config.password_env, ""),)), **kw):
                record_change(conn, ChangeKind.BULLETIN, bulletin.id, self.workstation)
            else:
                log.warning("bulletin copy %s: our claim went stale before the relay answered", recipient.id)

    async def _send(self, message: EmailMessage, address: str) -> None:
        c = self.config
        size = len(message.as_bytes())
        client = aiosmtplib.SMTP(hostname=c.host, port=c.port, timeout=c.timeout_s, use_tls=False,
                                 start_tls=True if c.starttls else False,
                                 tls_context=c.tls_context() if c.starttls else None)
        try:
            try:
                await asyncio.wait_for(client.connect(), c.timeout_s * 2)
            except ssl.SSLError as exc:
                raise _Temporary(f"the relay {c.host}:{c.port} did not start TLS: its certificate is not trusted "
                                 f"(setting smtp_ca_file) or TLS failed ({_why(exc)})") from None
            except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPConnectTimeoutError, OSError,
                    asyncio.TimeoutError) as exc:
                raise _Temporary(f"the relay {c.host}:{c.port} cannot be reached ({_why(exc)})") from None
            except aiosmtplib.SMTPException as exc:  # STARTTLS refused or missing, certificate not trusted, ...
                raise _Temporary(f"the relay {c.host}:{c.port} did not start TLS: {_why(exc)}") from None
            limit = client.esmtp_extensions.get("size", "")
            if limit.isdigit() and 0 < int(limit) < size:
                raise _Permanent(f"the message is {size} bytes and the relay takes at most {limit}: "
                                 "send a smaller clip (setting bulletin_max_mb)")
            if c.user:
                try:
                    await client.login(c.user, os.environ.get(c.password_env, ""))
                except aiosmtplib.SMTPException as exc:
                    raise _Temporary(f"the relay refused the sign-in of {c.user}: {_why(exc)}") from None
            try:
                await asyncio.wait_for(client.send_message(message, sender=c.sender, recipients=[address]),
                                       c.timeout_s * 2)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                codes = [r.code for r in exc.recipients]
                if codes and all(code >= 500 for code in codes):
                    raise _Permanent(f"the relay refused the address: {_why(exc.recipients[0])}") from None
                raise _Temporary(f"the relay deferred the address: {_why(exc)}") from None
            except aiosmtplib.SMTPResponseException as exc:
                if exc.code >= 500:
                    raise _Permanent(f"the relay refused the message: {_why(exc)}") from None
                raise _Temporary(f"the relay deferred the message: {_why(exc)}") from None
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
                raise _Temporary(f"the relay stopped answering ({_why(exc)})") from None
        finally:
            try:
                if client.is_connected:
                    await asyncio.wait_for(client.quit(), 2)
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError):
                client.close()


def _why(exc) -> str:
    text = str(getattr(exc, "message", "") or exc).strip().splitlines()
    return _plain(f"{getattr(exc, 'code', '') or ''} {text[0][:200] if text else exc.__class__.__name__}".strip())


def _plain(text: str) -> str:
    """What a relay said, as text that can be stored and shown: its control characters (NUL, ESC...) replaced."""
    return _CONTROL.sub("?", text)


class OutboxRunner(BackgroundLoop):
    """Delivers the outbox every `interval_s` (and at once when `wake()` is called: a bulletin was just sent)."""

    thread_name = "bulletin-outbox"

    def __init__(self, outbox: BulletinOutbox, interval_s: float = 5.0, on_report=None):
        super().__init__()
        self.outbox = outbox
        self.interval_s = interval_s
        self.on_report = on_report

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                report = self.outbox.deliver_due()
                if self.on_report is not None and (report.sent or report.failed or report.retry):
                    self.on_report(report)
            except Exception:  # the database away, a bug: logged, and the next round tries again
                log.exception("bulletin outbox round failed")
            self._wake.wait(self.interval_s)
            self._wake.clear()
