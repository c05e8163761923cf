"""A hostile registrant's corpus, put into a real registry through the three ingest paths that exist (portal import,
the portal feed, phone intake), and a loopback canary that counts every request a payload might make.

Each payload tries to run (set window.__pwned, change document.title) and to reach the canary; a test passes only
when none did and every string is shown literally.
"""

from __future__ import annotations

import csv
import math
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from console.domain.portal_records import FIELDS
from tests.support.geometry import destination
from tests.support.local_http import LocalHttpServer, QuietHandler
from tests.support.portal_server import PortalServer
from tests.support.portal_server import camera as portal_camera

CENTRE = (42.1487, -72.6079)
TITLE_CANARY = "pwned"


class Canary(LocalHttpServer):
    """Counts every request on loopback (any method, any path): a payload that reached out shows up here."""

    def __init__(self):
        self.hits: list[str] = []
        lock = threading.Lock()
        canary = self

        class Handler(QuietHandler):
            def _hit(self):
                with lock:
                    canary.hits.append(self.path)
                self.reply("text/plain", b"x")

            do_GET = do_POST = do_HEAD = _hit  # noqa: N815

        super().__init__(Handler)


def corpus(canary_url: str) -> list[str]:
    """Short payloads (each within the portal's 200-character limit) plus text that is only odd, not active."""
    c = canary_url
    set_flag = "window.__pwned=1;document.title='" + TITLE_CANARY + "'"
    return [
        f"<script>{set_flag};fetch('{c}/script')</script>",
        f"<img src=x onerror=\"{set_flag};fetch('{c}/onerror')\">",
        f"<svg onload=\"{set_flag};fetch('{c}/svg')\"></svg>",
        f"<style>body{{background:url({c}/style)}}</style>",
        f"<iframe src=\"{c}/iframe\"></iframe>",
        f"<a href=\"javascript:{set_flag}\">click me</a>",
        f"<a href=\"{c}/link\">our site</a>",
        f"<img src=\"{c}/img.png\">",
        f"\"><script>fetch('{c}/breakout')</script>",
        f"<object data=\"{c}/object\"></object><base href=\"{c}/\">",
        f"<link rel=stylesheet href=\"{c}/link.css\"><meta http-equiv=refresh content=\"0;url={c}/meta\">",
        "\u202eexe.gpj\u202c Front door",  # right-to-left override
        "&lt;b&gt;entity&lt;/b&gt; &amp; &#x3C;script&#x3E; &copy;",
        "<i>Org</i> & Sons \"quoted\" 'single' <b>bold</b>",
        "<h1>big</h1><table><tr><td>cell</td></tr></table>",
    ]


def long_text(canary_url: str) -> str:
    """10 kB, ending in a payload: too long for the portal (refused there), taken by phone intake."""
    tail = f"<img src=x onerror=\"window.__pwned=9;fetch('{canary_url}/long')\">"
    return "L" * (10_000 - len(tail)) + tail


@dataclass
class HostileRegistry:
    url: str
    labels: dict[str, str] = field(default_factory=dict)  # label -> the path it came in by
    texts: list[str] = field(default_factory=list)  # every hostile string put in (labels, names, addresses)
    incident_id: int = 0


def _spot(i: int) -> tuple[float, float]:
    # A sunflower spiral: cameras ~35 m apart, all within ~130 m of the incident (inside the default radius).
    return destination(*CENTRE, (i * 137.508) % 360, 18 * math.sqrt(i + 1))


def seed(url: str, tmp_path, canary_url: str) -> HostileRegistry:
    """An empty registry filled with the corpus through import, the feed and intake, plus one open incident."""
    from argon2 import PasswordHasher

    from console.domain.cameras import Capability, SharingMode
    from console.domain.incidents import Incident
    from console.domain.intake import IntakeCamera, IntakeForm
    from console.domain.owners import OwnerContact, OwnerKind
    from console.domain.users import Role
    from console.services.accounts import AccountService
    from console.services.intake import IntakeService
    from console.services.registry_feed import FeedHttp, FeedOptions, RegistryFeed
    from console.services.registry_import import import_file
    from console.store import registry as repo
    from console.store.audit import AuditLog
    from console.store.db import open_database
    from console.store.secrets import ContactCipher, load_contact_key

    texts = corpus(canary_url)
    result = HostileRegistry(url, texts=list(texts))
    cipher = ContactCipher(load_contact_key())
    database = open_database(url, create=True)
    spot = iter(range(1000))
    try:
        # 1. A portal export (CSV), every text column hostile.
        rows = []
        for n, label in enumerate(texts):
            lat, lon = _spot(next(spot))
            rows.append({"portal_id": f"IMP-{n}", "owner_name": texts[(n + 1) % len(texts)],
                         "organisation": texts[(n + 2) % len(texts)], "phone": f"413-555-{2000 + n:04d}",
                         "email": f"imp{n}@example.org", "address": texts[(n + 3) % len(texts)],
                         "lat": f"{lat:.7f}", "lon": f"{lon:.7f}", "camera_label": label, "capability": "registered",
                         "sharing_mode": "never", "stream_url": "", "bearing_deg": "90", "fov_deg": "60",
                         "range_m": "20", "consent_date": "2026-10-01", "consent_channel": "web"})
            result.labels[label] = "import"
        path = tmp_path / "hostile-portal.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        import_file(database, cipher, path, username="os:tester", workstation="rtic-ws-1")

        # 2. The portal feed (a local double speaking the portal's protocol), labels made distinct by a suffix.
        audit = AuditLog(database)
        with PortalServer(token="feed-token") as portal:
            for n, text in enumerate(texts[:8]):
                lat, lon = _spot(next(spot))
                label = f"{text} feed"
                portal.add(portal_camera(f"FEED-{n}", camera_label=label, organisation=texts[-1 - n],
                                         address=texts[n + 3], owner_name=texts[n + 5], lat=lat, lon=lon,
                                         capability="live", sharing_mode="always"))
                result.labels[label] = "feed"
            options = FeedOptions(page_size=50, attempts=1, backoff_s=0.01, max_backoff_s=0.05, max_retry_after_s=1,
                                  connect_timeout_s=2, read_timeout_s=5)
            http = FeedHttp(portal.base_url, "feed-token", options)
            try:
                summary = RegistryFeed(database, audit, cipher, http, workstation="rtic-ws-1").sync()
            finally:
                http.close()
            assert summary.error is None and summary.applied["camera"] == 8, summary

        # 3. Phone intake: a hostile site, address and owner, and cameras labelled with the rest (10 kB included).
        now = datetime.now(timezone.utc)
        hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        staff = AccountService(database, audit, cipher, hasher).add_user("os:test", "outreach", Role.OUTREACH,
                                                                         "a long enough password", now)
        intake_labels = [f"{t} phone" for t in texts[8:]] + [long_text(canary_url)]
        cameras = []
        for label in intake_labels:
            lat, lon = _spot(next(spot))
            cameras.append(IntakeCamera(label, lat, lon, Capability.REGISTERED, SharingMode.NEVER))
            result.labels[label] = "intake"
        site_lat, site_lon = _spot(next(spot))
        form = IntakeForm(owner_kind=OwnerKind.BUSINESS,
                          contact=OwnerContact(name=texts[1], organisation=texts[2], phone="(413) 555-0199",
                                               email="intake@example.org", address=texts[3]),
                          site_name=texts[0], address=texts[4], lat=site_lat, lon=site_lon,
                          cameras=tuple(cameras), owner_agreed=True)
        IntakeService(database, audit, cipher, workstation="outreach-desk").register(staff, form, create_new=True,
                                                                                     now=now)
        result.texts.append(long_text(canary_url))

        with database.engine.begin() as conn:
            result.incident_id = repo.add_incident(conn, Incident(
                None, "CAD-666", texts[0], 1, texts[3], *CENTRE, now - timedelta(minutes=1)))
    finally:
        database.close()
    return result
