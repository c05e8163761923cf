"""The demo's training site: cameras that fail on purpose, so a newcomer learns what each failure looks like before
meeting it on a call (one that refuses every connection, one that freezes after a few seconds, one whose stored
password is wrong), and an on-alert camera whose demo owner raises an alert every five minutes
(console/services/demo_gateway.py serves them all)."""

from __future__ import annotations

from datetime import datetime, timedelta

from console.demo.cameras import ALERT_DRILL, FROZEN, OFFLINE, WRONG_PASSWORD
from console.domain.cameras import Capability, SharingMode, check_camera_fields
from console.services.demo_town import CENTRE, offset
from console.store import bulk
from console.store.db import Database
from console.store.demo import load_training_rows, next_ids
from console.store.secrets import ContactCipher

TRAINING_ADDRESS = "1 Training Way, Chicopee, MA 01013"
# (camera, label, sharing, stream URL): 700 m north of the centre, away from the demo's incidents, so "Open
# nearest live" on a demo incident plays working cameras first.
TRAINING_CAMERAS = (
    (OFFLINE, "Training: camera offline", SharingMode.ALWAYS, f"https://training.demo.invalid/whep/{OFFLINE}"),
    (FROZEN, "Training: picture freezes", SharingMode.ALWAYS, f"https://training.demo.invalid/whep/{FROZEN}"),
    (WRONG_PASSWORD, "Training: wrong password", SharingMode.ALWAYS,
     f"rtsp://training.demo.invalid:554/{WRONG_PASSWORD}/main"),
    (ALERT_DRILL, "Training: owner alert drill", SharingMode.ON_ALERT,
     f"https://training.demo.invalid/whep/{ALERT_DRILL}"),
)
TRAINING_NORTH_M = 700.0


def add_training_site(database: Database, cipher: ContactCipher, now: datetime) -> dict:
    """Add the training site to a demo registry; the ids of its cameras by name."""
    lat, lon = offset(CENTRE, TRAINING_NORTH_M, 0.0)
    with database.engine.begin() as conn:
        stamp = bulk.timestamp_adapter(conn)
        created = stamp(now - timedelta(days=30))
        ids = next_ids(conn)
        owner_id, site_id = ids["owners"], ids["sites"]
        contact = {"name": "Training Officer", "organisation": "RTIC training", "phone": "413-555-0199",
                   "email": "training@example.com", "address": TRAINING_ADDRESS}
        owners = [(owner_id, "business", None, cipher.encrypt(contact), cipher.digest(contact["phone"]),
                   cipher.digest(contact["email"]), True, created, created, 1)]
        site_rows = [(site_id, owner_id, "RTIC training site", TRAINING_ADDRESS, lat, lon, created, created, 1)]
        camera_rows, stream_rows, made = [], [], {}
        for n, (name, label, mode, url) in enumerate(TRAINING_CAMERAS):
            camera_id = ids["cameras"] + n
            (protocol,) = check_camera_fields(Capability.LIVE, mode, [url])
            clat, clon = offset((lat, lon), 0.0, 12.0 * n)
            camera_rows.append((camera_id, site_id, owner_id, None, label, clat, clon, Capability.LIVE.value,
                                mode.value, "active", "outside", (90.0 * n) % 360, 90.0, 30.0, created, "in_person",
                                "RTIC training", None, True, created, created, 1))
            secret = None
            if url.startswith("rtsp"):  # the gateway asks for another password than this one (console/demo)
                secret = cipher.encrypt({"username": "viewer", "password": "training"}, b"stream")
            stream_rows.append((ids["streams"] + n, camera_id, protocol.value, "main", url, secret))
            made[name] = camera_id
        load_training_rows(conn, owners, site_rows, camera_rows, stream_rows)
    return made
