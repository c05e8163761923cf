"""The demo registry: a deterministic, realistic synthetic registry around Chicopee, MA, for training and tests.

About 70 % of cameras are registered-only and 30 % live-capable (a whole site goes live through one gateway) with a
mix of sharing modes; owners are marked as demo data; a few incidents are open and a few owner alerts are in force.
The same seed always gives the same registry (except the alert and incident times, which follow the clock).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from console.domain.cameras import Capability, CameraStatus, SharingMode, check_camera_fields
from console.domain.geo import haversine_m
from console.domain.grants import GrantSource, ShareGrant
from console.domain.incidents import Incident
from console.errors import UserError
from console.services.demo_town import (
    BUSINESS_KINDS,
    CENTRE,
    FIRST_NAMES,
    LAST_NAMES,
    SERVICE_AREA,
    Town,
    offset,
)
from console.store import bulk
from console.store.db import Database
from console.store.registry import add_grant, add_incident, count_cameras
from console.store.secrets import ContactCipher
from console.store.spatial import bulk_loading

MAX_CAMERAS = 2_000_000
_CAMERA_PLACES = ("Front door", "Driveway", "Porch", "Back yard", "Side yard", "Garage", "Entrance", "Parking lot",
                  "Loading dock", "Register", "Rear alley", "Street view", "Side door", "Corner")
_CAMERAS_PER_SITE = 0.3 * 3.0 + 0.7 * 1.25  # businesses average 3 cameras, homes 1.25
_ANGLES = (90.0, 60.0, 110.0, 80.0)
_RANGES = (20.0, 30.0, 15.0, 40.0)
_STAFF = ("Officer T. Nguyen (outreach)", "Officer R. Dubois (outreach)", "Clerk M. Santos")
WORDING = ("Registering your camera tells the police department where it is and how to contact you. It does not "
           "give the police access to your camera. You can change or remove your registration at any time.")
INCIDENT_TYPES = (("Burglary in progress", 1), ("Shots fired", 1), ("Armed robbery", 1), ("Motor vehicle crash, injuries", 2),
                  ("Suspicious person", 3), ("Stolen vehicle", 2), ("Assault", 2), ("Vandalism", 3))


def generate_demo(database: Database, cipher: ContactCipher, cameras: int = 2500, seed: int = 1,
                  now: datetime | None = None) -> dict:
    """Fill an empty registry with `cameras` synthetic cameras; return a summary (counts and seconds)."""
    if not 1 <= cameras <= MAX_CAMERAS:
        raise UserError(f"--cameras must be between 1 and {MAX_CAMERAS:,}")
    now = now or datetime.now(timezone.utc)
    started = time.perf_counter()
    with database.engine.begin() as conn:
        existing = count_cameras(conn)
        if existing:
            raise UserError(
                f"the database {database.display_url} already holds a registry ({existing:,} cameras): "
                "the demo fills only an empty one; give a new --db"
            )
        builder = _Builder(Town(cameras, seed), cipher, now, bulk.timestamp_adapter(conn))
        builder.build(cameras)
        bulk.load_rows(conn, "owners", bulk.OWNER_COLUMNS, builder.owners)
        bulk.load_rows(conn, "sites", bulk.SITE_COLUMNS, builder.sites)
        with bulk_loading(conn, rebuild_index=True):  # the registry is empty: nobody else reads it yet
            bulk.load_rows(conn, "cameras", bulk.CAMERA_COLUMNS, builder.cameras)
        bulk.load_rows(conn, "streams", bulk.STREAM_COLUMNS, builder.streams)
        for table in ("owners", "sites", "cameras", "streams"):
            bulk.reset_sequence(conn, table)
        incidents, grants = _add_incidents_and_alerts(conn, builder, now)
    return {
        "database": database.display_url,
        "cameras": len(builder.cameras),
        "live_capable": builder.live,
        "registered_only": len(builder.cameras) - builder.live,
        "sites": len(builder.sites),
        "owners": len(builder.owners),
        "streams": len(builder.streams),
        "open_incidents": incidents,
        "owner_alerts_in_force": grants,
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 2),
    }


class _Builder:
    """Makes the rows, in memory, as tuples in the bulk loader's column order."""

    def __init__(self, town: Town, cipher: ContactCipher, now: datetime, stamp):
        self.town, self.rng, self.cipher, self.now, self.stamp = town, town.rng, cipher, now, stamp
        self.owners: list[tuple] = []
        self.sites: list[tuple] = []
        self.cameras: list[tuple] = []
        self.streams: list[tuple] = []
        self.live = 0
        self.live_sites: list[tuple[int, float, float, str]] = []  # (site id, lat, lon, sharing mode)

    def build(self, total: int) -> None:
        rng = self.rng
        created = self.stamp(self.now - timedelta(days=400))
        for lot, business in self.town.lots(wanted_sites=int(total / _CAMERAS_PER_SITE)):
            if len(self.cameras) >= total:
                break
            count = rng.choice((1, 2, 2, 3, 4, 6)) if business else rng.choice((1, 1, 1, 2))
            count = min(count, total - len(self.cameras))
            owner_id, site_id = len(self.owners) + 1, len(self.sites) + 1
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            organisation = f"{last}'s {rng.choice(BUSINESS_KINDS)}" if business else ""
            phone = f"413-555-01{rng.randrange(100):02d}"
            email = f"{first}.{last}{owner_id}@example.com".lower()
            contact = {"name": f"{first} {last}", "organisation": organisation, "phone": phone, "email": email,
                       "address": lot.address}
            self.owners.append((owner_id, "business" if business else "resident", None,
                                self.cipher.encrypt(contact), self.cipher.digest(phone), self.cipher.digest(email),
                                True, created, created, 1))
            # A home is named for what it is, never for its owner: the site name is shown unmasked.
            self.sites.append((site_id, owner_id, organisation or "Residence", lot.address, lot.lat, lot.lon,
                               created, created, 1))
            live = rng.random() < 0.3
            mode = _live_mode(rng.random()) if live else SharingMode.NEVER
            if live:
                self.live_sites.append((site_id, lot.lat, lot.lon, mode.value))
            consent_at = self.now - timedelta(days=rng.uniform(5, 3 * 365))
            draw = rng.random() * (100 if live else 90)  # web 60 %, phone 20 %, in person 10 %, device 10 % (live only)
            channel = "web" if draw < 60 else "phone" if draw < 80 else "in_person" if draw < 90 else "device"
            taken_by = "registration portal" if channel in ("web", "device") else rng.choice(_STAFF)
            consent_stamp = self.stamp(consent_at)
            for n in range(count):
                self._camera(site_id, owner_id, lot, n, live, mode, consent_stamp, channel, taken_by)

    def _camera(self, site_id, owner_id, lot, n, live, mode, created, channel, taken_by) -> None:
        rng = self.rng
        camera_id = len(self.cameras) + 1
        lat, lon = offset((lot.lat, lot.lon), rng.uniform(-6, 6), rng.uniform(-6, 6))
        facing = (lot.facing_deg + (0, 90, -90, 180)[0 if n == 0 else 1 + rng.randrange(3)] + rng.uniform(-25, 25)) % 360
        status = CameraStatus.ACTIVE if rng.random() < 0.97 else CameraStatus.INACTIVE
        capability = Capability.LIVE if live else Capability.REGISTERED
        gateway = f"gw-{site_id}.demo.invalid"
        rtsp = live and rng.random() < 0.8
        urls = ([f"rtsp://{gateway}:554/cam{n + 1}/{role}" for role in ("main", "sub")] if rtsp
                else [f"https://{gateway}/whep/cam{n + 1}"] if live else [])
        protocols = check_camera_fields(capability, mode, urls)  # the registry's rules hold for the demo too
        self.cameras.append((
            camera_id, site_id, owner_id, None, _CAMERA_PLACES[(n + site_id) % len(_CAMERA_PLACES)],
            lat, lon, capability.value, mode.value, status.value,
            "outside", round(facing, 1), _ANGLES[n % 4], _RANGES[(site_id + n) % 4],
            created, channel, taken_by, WORDING if channel in ("phone", "in_person") else None, True, created, created, 1,
        ))
        if not live:
            return
        self.live += 1
        secret = None
        if rtsp:
            secret = self.cipher.encrypt({"username": "viewer", "password": f"demo-{rng.getrandbits(48):012x}"},
                                         b"stream")
        for url, protocol, role in zip(urls, protocols, ("main", "sub")):
            self.streams.append((len(self.streams) + 1, camera_id, protocol.value, role, url, secret))


def _live_mode(draw: float) -> SharingMode:
    """always 30 %, on_alert 50 %, never 20 % of live-capable sites."""
    return SharingMode.ALWAYS if draw < 0.3 else SharingMode.ON_ALERT if draw < 0.8 else SharingMode.NEVER


def _add_incidents_and_alerts(conn, builder: _Builder, now: datetime) -> tuple[int, int]:
    """A few open incidents near the centre of town, and owner alerts in force on on-alert sites near them."""
    rng = builder.rng
    lots = [builder.town.lot(business=rng.random() < 0.5) for _ in range(30)]
    lots.sort(key=lambda lot: haversine_m(CENTRE[0], CENTRE[1], lot.lat, lot.lon))
    on_alert = [s for s in builder.live_sites if s[3] == SharingMode.ON_ALERT.value]
    alerted: set[int] = set()
    for i, lot in enumerate(lots[:6]):
        kind, priority = INCIDENT_TYPES[i % len(INCIDENT_TYPES)]
        cad = f"CHI-{now.year}-{rng.randrange(100_000, 999_999)}"
        add_incident(conn, Incident(None, cad, kind, priority, lot.address, lot.lat, lot.lon,
                                    now - timedelta(minutes=rng.randint(3, 90)), source="demo"))
        near = sorted(on_alert, key=lambda s: haversine_m(lot.lat, lot.lon, s[1], s[2]))[:2]
        for site_id, *_ in near:
            if site_id in alerted:
                continue
            alerted.add(site_id)
            start = now - timedelta(minutes=rng.randint(1, 20))
            add_grant(conn, ShareGrant(None, None, site_id, start, start + timedelta(minutes=60),
                                       rng.choice((GrantSource.APP, GrantSource.PANIC_BUTTON))), created_by="demo")
    return min(6, len(lots)), len(alerted)


def create_demo(database: Database, cipher: ContactCipher, cameras: int = 2500, seed: int = 1,
                hasher=None, audit=None, actor: str | None = None) -> dict:
    """The whole demo: the registry, one account per role (passwords in the summary, once) and its audit event; the
    summary also names the demo's service area (Chicopee's box).

    `audit` and `actor`: who asked (the command line's signed-in administrator on a database already in use)."""
    from console.domain.audit import Action, AuditEntry
    from console.services.accounts import create_demo_accounts, default_workstation, operator_name
    from console.store.audit import AuditLog

    from console.services.demo_training import add_training_site

    summary = generate_demo(database, cipher, cameras=cameras, seed=seed)
    summary["training_cameras"] = len(add_training_site(database, cipher, datetime.now(timezone.utc)))
    audit = audit or AuditLog(database)
    facts = {k: v for k, v in summary.items() if k not in ("database", "seconds")}
    audit.append(AuditEntry(Action.DEMO_CREATED, actor or operator_name(), default_workstation(), details=facts))
    summary["accounts"] = create_demo_accounts(database, hasher=hasher, audit=audit)
    # The demo's service area, to set with `rtic-console config set service_area ...` (not an audit fact).
    summary["service_area"] = SERVICE_AREA
    return summary
