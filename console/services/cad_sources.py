"""Where CAD incidents come from: a watched folder, a polled HTTP endpoint, a file; and a thread that runs them.

Every source reads documents (`read_documents`: one EIDO or a JSON list of EIDOs, a simple CAD export as CSV or as
a JSON list of flat objects) into incidents or rejections, applies the incidents through `CadService`, and keeps
its own books:

- `FolderSource`: *.json and *.csv files in the folder. A file is taken only when it looks complete: names that
  start with "." or end in .tmp/.part are never read (write under such a name and rename: a rename is atomic),
  and any other file must not have changed for `settle_s` seconds and must keep its size and modification time
  while it is read. Then it moves to processed/ (everything taken) or rejected/ (nothing taken), with
  NAME.reason.txt beside it listing every rejection. A file that cannot be read for any reason (larger than
  MAX_DOCUMENT_BYTES, checked before reading; nested deeper than MAX_JSON_DEPTH, checked before parsing; UTF-16,
  binary or otherwise not UTF-8; not JSON or CSV; not an EIDO or export; an error nobody foresaw) is rejected
  the same way, and one file never holds up the files beside it. A file whose incidents could not be applied
  *now* (database or geocoder away) stays where it is and is read again on the next pass.
- `HttpSource`: GET with If-None-Match / If-Modified-Since (ETag and Last-Modified kept in feed_cursors, so a
  restart resumes); 304 costs nothing; network errors and HTTP errors back off exponentially (never raise).
- `CadRunner`: a plain thread (no Qt) running every source each `interval_s`; calls `on_high_priority` (on its
  own thread) when an open incident of priority <= `offer_priority` arrives, reopens or is raised to it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from console.domain.cad_export import (
    ColumnMapping,
    looks_like_export_row,
    parse_csv,
    parse_json_rows,
)
from console.domain.bounded_json import JsonRefused, loads_bounded
from console.domain.eido import CadIncident, CadRejected, parse_eido
from console.domain.redaction import redact
from console.errors import UserError
from console.services.background import BackgroundLoop
from console.services.cad import CadApplied, CadService

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 20_000_000
MAX_JSON_DEPTH = 64  # an EIDO nests about eight levels; deeper is refused before parsing (json recurses per level)
DEFAULT_MAPPING = ColumnMapping()  # every field in the column of its own name
SUFFIXES = (".json", ".csv")


@dataclass(frozen=True)
class Received:
    """One incident a source read, or why it was not taken; `origin` names the file, URL and row."""

    origin: str
    incident: CadIncident | None = None
    rejection: CadRejected | None = None


@dataclass
class PassReport:
    """What one pass over the sources did."""

    applied: list[CadApplied] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (origin, reason): will never be taken
    deferred: list[tuple[str, str]] = field(default_factory=list)  # (origin, reason): tried again later
    unchanged_sources: int = 0  # HTTP 304, no new files

    def merge(self, other: PassReport) -> None:
        self.applied += other.applied
        self.rejected += other.rejected
        self.deferred += other.deferred
        self.unchanged_sources += other.unchanged_sources

    def summary(self) -> dict[str, Any]:
        counts = {r: 0 for r in ("created", "updated", "closed", "reopened", "unchanged", "stale")}
        for applied in self.applied:
            counts[applied.result] += 1
        return {**counts, "views_ended": sum(a.views_ended for a in self.applied), "rejected": len(self.rejected),
                "deferred": len(self.deferred)}


def read_documents(data: bytes, origin: str, mapping: ColumnMapping = DEFAULT_MAPPING) -> list[Received]:
    """Incidents and rejections in one file or HTTP body: CSV when `origin` ends in .csv, else JSON."""
    if len(data) > MAX_DOCUMENT_BYTES:
        return [Received(origin, rejection=CadRejected("document", f"larger than {MAX_DOCUMENT_BYTES:,} bytes"))]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
        why = "UTF-16 text, not UTF-8: have CAD write UTF-8" if utf16 else f"not UTF-8 text (byte {exc.start})"
        return [Received(origin, rejection=CadRejected("document", why))]
    if "\x00" in text:
        return [Received(origin, rejection=CadRejected("document", "binary data (NUL bytes), not a CAD document"))]
    if origin.lower().endswith(".csv"):
        try:
            rows = parse_csv(text, mapping)
        except CadRejected as exc:
            return [Received(origin, rejection=exc)]
        return [Received(f"{origin} {r.where}", r.incident, r.rejection) for r in rows]
    try:
        document = loads_bounded(text, max_chars=MAX_DOCUMENT_BYTES, max_depth=MAX_JSON_DEPTH)
    except JsonRefused as exc:
        return [Received(origin, rejection=CadRejected("document", str(exc).removeprefix("it is ")))]
    items = document if isinstance(document, list) else [document]
    if not items:
        return []
    if all(looks_like_export_row(item, mapping) for item in items):
        return [Received(f"{origin} {r.where}", r.incident, r.rejection) for r in parse_json_rows(items, mapping)]
    out = []
    for number, item in enumerate(items, 1):
        where = origin if len(items) == 1 else f"{origin} item {number}"
        try:
            out.append(Received(where, incident=parse_eido(item)))
        except CadRejected as exc:
            out.append(Received(where, rejection=exc))
    return out


def apply_all(service: CadService, received: Iterable[Received],
              on_applied: Callable[[CadApplied], None] | None = None) -> PassReport:
    report = PassReport()
    for item in received:
        if item.rejection is not None:
            report.rejected.append((item.origin, str(item.rejection)))
            continue
        try:
            applied = service.apply(item.incident)
        except CadRejected as exc:
            report.rejected.append((item.origin, str(exc)))
            continue
        except UserError as exc:  # CadUnavailable and the like: nothing written, try again later
            report.deferred.append((item.origin, str(exc)))
            continue
        report.applied.append(applied)
        if on_applied is not None:
            on_applied(applied)
    return report


class FileSource:
    """One file, read once (`rtic-console cad import`); the file is left where it is."""

    def __init__(self, path: Path, mapping: ColumnMapping = DEFAULT_MAPPING):
        self.path, self.mapping = Path(path), mapping
        self.name = f"file:{self.path}"

    def run_once(self, service: CadService, on_applied=None) -> PassReport:
        try:
            if self.path.stat().st_size > MAX_DOCUMENT_BYTES:  # refused unread
                return PassReport(rejected=[(self.path.name, f"document: larger than {MAX_DOCUMENT_BYTES:,} bytes")])
            data = self.path.read_bytes()
        except OSError as exc:
            raise UserError(f"cannot read {self.path} ({exc.strerror or exc})") from None
        return apply_all(service, read_documents(data, self.path.name, self.mapping), on_applied)


class FolderSource:
    """A folder CAD drops EIDO or export files into; see the module's notes on half-written files."""

    def __init__(self, folder: Path, mapping: ColumnMapping = DEFAULT_MAPPING, settle_s: float = 2.0,
                 clock: Callable[[], float] = time.time):
        self.folder, self.mapping, self.settle_s, self.clock = Path(folder), mapping, settle_s, clock
        self.name = f"folder:{self.folder}"

    def pending(self) -> list[Path]:
        """Files that may be taken now, oldest first."""
        try:
            entries = [p for p in self.folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES
                       and not p.name.startswith(".") and not p.name.endswith(".reason.txt")]
        except OSError as exc:
            raise UserError(f"cannot read the folder {self.folder} ({exc.strerror or exc})") from None
        ready = []
        for path in entries:
            try:
                stat = path.stat()
            except OSError:
                continue  # moved away meanwhile
            if self.clock() - stat.st_mtime >= self.settle_s:
                ready.append((stat.st_mtime, path.name, path))
        return [p for _, _, p in sorted(ready)]

    def run_once(self, service: CadService, on_applied=None) -> PassReport:
        report = PassReport()
        files = self.pending()
        if not files:
            report.unchanged_sources += 1
        for path in files:
            try:
                report.merge(self._take(path, service, on_applied))
            except Exception:  # a bug while applying one file must not hold up the files beside it
                log.exception("CAD file %s could not be applied", path.name)
                report.deferred.append((path.name, "unexpected error while applying it (see the log)"))
        return report

    def _take(self, path: Path, service: CadService, on_applied) -> PassReport:
        try:
            before = path.stat()
            if before.st_size > MAX_DOCUMENT_BYTES:  # refused unread: a huge file costs no memory
                return self._move(path, PassReport(rejected=[(path.name, f"document: larger than "
                                                                         f"{MAX_DOCUMENT_BYTES:,} bytes")]))
            data = path.read_bytes()
            after = path.stat()
        except OSError:
            return PassReport()  # gone or unreadable for now: the next pass looks again
        if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns) or len(data) != after.st_size:
            return PassReport()  # still being written
        try:
            received = read_documents(data, path.name, self.mapping)
        except Exception as exc:  # cannot be read for a reason not foreseen: it will never be, so out of the way
            log.exception("CAD file %s could not be read", path.name)
            received = [Received(path.name, rejection=CadRejected(
                "document", f"could not be read ({exc.__class__.__name__})"))]
        report = apply_all(service, received, on_applied)
        if report.deferred:
            return report  # stays for the next pass; what was applied is applied again as "unchanged"
        return self._move(path, report)

    def _move(self, path: Path, report: PassReport) -> PassReport:
        target = self.folder / ("rejected" if report.rejected and not report.applied else "processed")
        try:
            target.mkdir(exist_ok=True)
            destination = _free_name(target / path.name)
            if report.rejected:
                reasons = "".join(f"{origin}: {why}\n" for origin, why in report.rejected)
                destination.with_name(destination.name + ".reason.txt").write_text(reasons, encoding="utf-8")
            os.replace(path, destination)
        except OSError as exc:
            report.deferred.append((path.name, f"could not move it to {target.name}/ ({exc.strerror or exc})"))
        return report


class HttpSource:
    """An endpoint answering one EIDO or a JSON list of them; polled with conditional GETs."""

    def __init__(self, url: str, *, timeout_s: float = 10.0, backoff_s: float = 2.0, max_backoff_s: float = 300.0,
                 user_agent: str = "CommunityConnectConsole", session: requests.Session | None = None,
                 clock: Callable[[], float] = time.monotonic, mapping: ColumnMapping = DEFAULT_MAPPING):
        if not url.lower().startswith(("http://", "https://")):
            raise UserError(f"{redact(url)!r} is not an http:// or https:// URL")
        self.url, self.timeout_s, self.mapping = url, timeout_s, mapping
        self.shown = redact(url)  # what messages, logs and the cursor row may hold: never its password or token
        self.backoff_s, self.max_backoff_s, self.clock = backoff_s, max_backoff_s, clock
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.name = f"http:{self.shown}"[:100]
        self.failures = 0
        self.retry_at = 0.0
        self.last_error: str | None = None

    def run_once(self, service: CadService, on_applied=None) -> PassReport:
        report = PassReport()
        if self.clock() < self.retry_at:
            report.unchanged_sources += 1
            return report
        last_modified, etag = service.cursor(self.name)
        headers = {"Accept": "application/json"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            with self.session.get(self.url, headers=headers, timeout=self.timeout_s, stream=True) as response:
                body = _bounded_body(response)
        except requests.RequestException as exc:
            return self._failed(report, f"no answer ({exc.__class__.__name__})")
        if response.status_code == 304:
            self._recovered()
            report.unchanged_sources += 1
            return report
        if response.status_code != 200:
            return self._failed(report, f"HTTP {response.status_code} {response.reason or ''}".strip())
        self._recovered()
        report = apply_all(service, read_documents(body, self.shown, self.mapping), on_applied)
        if not report.deferred:  # otherwise fetch the same document again next time
            service.save_cursor(self.name, response.headers.get("Last-Modified"), response.headers.get("ETag"))
        return report

    def _failed(self, report: PassReport, why: str) -> PassReport:
        self.failures += 1
        delay = min(self.max_backoff_s, self.backoff_s * 2 ** (self.failures - 1))
        self.retry_at = self.clock() + delay
        self.last_error = why
        report.deferred.append((self.shown, f"the CAD endpoint gave {why}: trying again in {delay:g} s"))
        return report

    def _recovered(self) -> None:
        self.failures, self.retry_at, self.last_error = 0, 0.0, None


HighPriorityCallback = Callable[[CadApplied], None]
PassCallback = Callable[[PassReport], None]


class CadRunner(BackgroundLoop):
    """Runs the sources every `interval_s` on its own thread until `stop()`; `run_pass()` runs one pass here."""

    thread_name = "cad-runner"

    def __init__(self, service: CadService, sources: list, interval_s: float = 5.0,
                 on_high_priority: HighPriorityCallback | None = None, auto_offer: bool = True,
                 offer_priority: int = 1, on_pass: PassCallback | None = None):
        self.service, self.sources, self.interval_s = service, list(sources), interval_s
        self.on_high_priority, self.auto_offer, self.offer_priority = on_high_priority, auto_offer, offer_priority
        self.on_pass = on_pass
        super().__init__()

    def is_offer(self, applied: CadApplied) -> bool:
        """Should the console put this incident on the map and offer its nearest live cameras?"""
        incident = applied.incident
        if not self.auto_offer or incident.closed or incident.priority > self.offer_priority:
            return False
        if applied.result in ("created", "reopened"):
            return True
        return applied.result == "updated" and (applied.previous_priority or 0) > self.offer_priority

    def run_pass(self) -> PassReport:
        report = PassReport()
        for source in self.sources:
            try:
                report.merge(source.run_once(self.service, self._applied))
            except UserError as exc:
                report.deferred.append((source.name, str(exc)))
            except Exception:  # a bug must not stop the runner: logged, and the next pass tries again
                log.exception("CAD source %s failed", source.name)
                report.deferred.append((source.name, "unexpected error (see the log)"))
        for origin, why in report.rejected:
            log.warning("CAD rejected %s: %s", origin, why)
        if self.on_pass is not None:
            self._safely(self.on_pass, report)
        return report

    def _applied(self, applied: CadApplied) -> None:
        if self.on_high_priority is not None and self.is_offer(applied):
            self._safely(self.on_high_priority, applied)


    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_pass()
            self._stop.wait(self.interval_s)

    @staticmethod
    def _safely(callback, value) -> None:
        try:
            callback(value)
        except Exception:
            log.exception("CAD runner callback failed")


def _bounded_body(response: requests.Response) -> bytes:
    """The body, read no further than one byte past MAX_DOCUMENT_BYTES (read_documents then refuses it)."""
    chunks, size = [], 0
    for chunk in response.iter_content(1 << 16):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_DOCUMENT_BYTES:
            break
    return b"".join(chunks)


def _free_name(path: Path) -> Path:
    if not path.exists():
        return path
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return path.with_name(f"{path.stem}.{stamp}{path.suffix}")


def runner_from_settings(service: CadService, settings: Any, on_high_priority: HighPriorityCallback | None = None,
                         on_pass: PassCallback | None = None) -> CadRunner | None:
    """The runner for the sources the settings name (cad_watch_folder, cad_poll_url), or None when there are none."""
    sources: list = []
    if settings.cad_watch_folder:
        sources.append(FolderSource(Path(settings.cad_watch_folder).expanduser()))
    if settings.cad_poll_url:
        sources.append(HttpSource(settings.cad_poll_url, user_agent=settings.user_agent))
    if not sources:
        return None
    return CadRunner(service, sources, interval_s=settings.cad_poll_interval_s, on_high_priority=on_high_priority,
                     auto_offer=settings.cad_auto_offer, offer_priority=settings.cad_auto_offer_priority,
                     on_pass=on_pass)
