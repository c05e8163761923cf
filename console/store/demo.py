"""The demo registry's rows the demo gateway needs: whether the registry is the demo's, its demo cameras' streams
(with their credentials, for the gateway to ask for), and the training site's rows."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from console.store import bulk
from console.store.models import CameraRow, SiteRow, StreamRow
from console.store.secrets import ContactCipher, UnreadableRecord

cameras, sites, streams = CameraRow.__table__, SiteRow.__table__, StreamRow.__table__


@dataclass(frozen=True)
class DemoStream:
    camera_id: int
    label: str
    address: str
    url: str
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)


def is_demo_registry(conn: Connection) -> bool:
    """True when the registry holds demo cameras and nothing else (a real registry never starts a demo gateway)."""
    counts = dict(conn.execute(select(cameras.c.is_demo, func.count()).group_by(cameras.c.is_demo)).all())
    return bool(counts.get(True)) and not counts.get(False)


def demo_streams(conn: Connection, cipher: ContactCipher, url_filter: str = "%.demo.invalid%") -> list[DemoStream]:
    """Every stream of a demo camera whose URL points into the demo's reserved .invalid names."""
    rows = conn.execute(
        select(streams.c.camera_id, cameras.c.label, sites.c.address, streams.c.url, streams.c.credential_ciphertext)
        .join(cameras, cameras.c.id == streams.c.camera_id).join(sites, sites.c.id == cameras.c.site_id)
        .where(cameras.c.is_demo.is_(True)).where(streams.c.url.like(url_filter)).order_by(streams.c.id))
    found = []
    for camera_id, label, address, url, blob in rows:
        username = password = None
        if blob:
            try:
                record = cipher.decrypt(blob, b"stream")
            except UnreadableRecord:
                continue  # a stream this key cannot read is not served: it stays unreachable, as before
            username, password = record.get("username"), record.get("password")
        found.append(DemoStream(camera_id, label, address, url, username, password))
    return found


def next_ids(conn: Connection) -> dict[str, int]:
    """The next free id of each table the training site is written into."""
    from console.store.models import OwnerRow

    tables = {"owners": OwnerRow.__table__, "sites": sites, "cameras": cameras, "streams": streams}
    return {name: (conn.execute(select(func.max(t.c.id))).scalar_one() or 0) + 1 for name, t in tables.items()}


def load_training_rows(conn: Connection, owners: list, site_rows: list, camera_rows: list, stream_rows: list) -> None:
    """Write the training site's rows (tuples in the bulk loader's column order) inside the caller's transaction."""
    bulk.load_rows(conn, "owners", bulk.OWNER_COLUMNS, owners)
    bulk.load_rows(conn, "sites", bulk.SITE_COLUMNS, site_rows)
    bulk.load_rows(conn, "cameras", bulk.CAMERA_COLUMNS, camera_rows)
    bulk.load_rows(conn, "streams", bulk.STREAM_COLUMNS, stream_rows)
    for table in ("owners", "sites", "cameras", "streams"):
        bulk.reset_sequence(conn, table)
