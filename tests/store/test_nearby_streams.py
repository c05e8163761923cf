"""The nearby search's rows say whether each camera has a stream (what may_view needs), on both backends, through
the index-backed query and the full scan alike."""

from __future__ import annotations

from console.domain.cameras import Camera, Capability, SharingMode, Stream, StreamProtocol
from console.domain.owners import OwnerContact, OwnerKind
from console.store import registry as repo
from console.store.secrets import ContactCipher
from console.store.spatial import nearby_cameras, scan_cameras

CIPHER = ContactCipher(b"s" * 32)


def test_has_stream_is_true_exactly_for_cameras_with_a_stream(database):
    kinds = [(Capability.LIVE, 2), (Capability.LIVE, 1), (Capability.LIVE, 0), (Capability.REGISTERED, 0)]
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, CIPHER, OwnerKind.RESIDENT, OwnerContact("Test Owner"))
        site = repo.add_site(conn, owner, "site", "1 Test St", 42.1, -72.6)
        expected = {}
        for n, (capability, streams) in enumerate(kinds):
            camera = Camera(None, site, f"cam {n}", 42.1 + n / 100_000, -72.6, "", capability,
                            SharingMode.ALWAYS if capability is Capability.LIVE else SharingMode.NEVER,
                            streams=tuple(Stream(StreamProtocol.RTSP, f"rtsp://gw/{n}/{i}") for i in range(streams)))
            expected[repo.add_camera(conn, CIPHER, camera, owner)] = streams > 0
    with database.engine.connect() as conn:
        indexed = {c.id: c.has_stream for c in nearby_cameras(conn, 42.1, -72.6, 500)}
        scanned = {c.id: c.has_stream for c in scan_cameras(conn, 42.1, -72.6, 500)}
    assert indexed == scanned == expected
    assert all(type(v) is bool for v in indexed.values())
