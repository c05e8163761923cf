"""A camera's pinned TLS certificate fingerprint (cameras.tls_pin_sha256, migration 0010): edited as any camera
field (audited, pasted forms accepted, bad ones refused with the data unchanged), read back by the registry, and
handed with the view to the player, which accepts only that certificate (tests/video/test_rtsps_trust.py)."""

from __future__ import annotations

import pytest

from console.domain.audit import Action
from console.domain.users import Role
from console.errors import UserError
from console.services.registry_edits import RegistryEditService
from console.store import registry as repo
from console.video.view import LiveView
from tests.services.conftest import NOW, audit_rows
from tests.services.test_viewing import WHY

PIN = "3f:97:59:eb:35:96:8b:55:3f:f9:94:19:06:17:5b:b2:8c:d5:79:32:a8:ac:8f:db:ca:e8:cd:c9:89:19:f4:5b"


@pytest.fixture
def edits(database, audit, cipher):
    return RegistryEditService(database, audit, cipher, workstation="rtic-ws-3")


def _stored(database, camera_id):
    with database.engine.connect() as conn:
        return repo.get_camera(conn, camera_id).tls_pin_sha256


def test_pin_is_edited_audited_and_reaches_the_player(database, edits, viewing, registry, people):
    seen = edits.camera_for_edit(registry["always"])
    edits.edit_camera(people[Role.OUTREACH], registry["always"], seen.version,
                      {"tls_pin_sha256": "SHA256 Fingerprint=" + PIN.upper()}, now=NOW)
    assert _stored(database, registry["always"]) == PIN.replace(":", "")
    [event] = audit_rows(database, Action.REGISTRY_CHANGE)
    assert event["details"]["changes"][0]["field"] == "tls_pin_sha256"

    auth = viewing.start_view(people[Role.DISPATCHER], registry["always"], WHY, NOW)
    assert auth.tls_pin_sha256 == PIN.replace(":", "")
    view = LiveView.from_authorization(auth, registry["always"], "porch", sub_url="rtsps://10.0.0.5/sub")
    assert view.main.pin_sha256 == view.sub.pin_sha256 == PIN.replace(":", "")


def test_a_bad_pin_is_refused_and_nothing_changes(database, edits, registry, people):
    seen = edits.camera_for_edit(registry["always"])
    with pytest.raises(UserError, match="64 hex digits"):
        edits.edit_camera(people[Role.OUTREACH], registry["always"], seen.version, {"tls_pin_sha256": "12:34"},
                          now=NOW)
    assert _stored(database, registry["always"]) is None
    assert edits.camera_for_edit(registry["always"]).version == seen.version


def test_an_empty_pin_clears_it(database, edits, registry, people):
    seen = edits.camera_for_edit(registry["always"])
    version = edits.edit_camera(people[Role.OUTREACH], registry["always"], seen.version,
                                {"tls_pin_sha256": PIN}, now=NOW)
    edits.edit_camera(people[Role.OUTREACH], registry["always"], version, {"tls_pin_sha256": "  "}, now=NOW)
    assert _stored(database, registry["always"]) is None


def test_query_credentials_are_stored_apart_and_the_player_gets_them_back(database, cipher):
    """A camera CGI URL with ?usr=..&pwd=..: the registry stores placeholders and the encrypted values; the
    player's source fills them back in (percent-encoded) to open the stream."""
    from sqlalchemy import text

    from console.domain.cameras import Camera, Capability, SharingMode, Stream, StreamProtocol
    from console.domain.owners import OwnerContact, OwnerKind
    from console.video.source import StreamSource

    url = "http://10.0.0.9:88/cgi-bin/CGIStream.cgi?cmd=GetMJStream&usr=admin&pwd=S%26cret%3D1"
    with database.engine.begin() as conn:
        owner = repo.add_owner(conn, cipher, OwnerKind.BUSINESS, OwnerContact("Shop Owner", phone="413-555-0100"))
        site = repo.add_site(conn, owner, "Shop", "1 Main St", 42.1, -72.6)
        camera_id = repo.add_camera(conn, cipher, Camera(None, site, "Door", 42.1, -72.6, "", Capability.LIVE,
                                                         SharingMode.ALWAYS, streams=(Stream(StreamProtocol.HTTP, url),)),
                                    owner)
        stream = repo.get_camera(conn, camera_id).streams[0]
        stored = conn.execute(text("SELECT url, credential_ciphertext FROM streams")).one()
        user, password = repo.stream_credentials(conn, cipher, stream.id)
    assert stored.url == "http://10.0.0.9:88/cgi-bin/CGIStream.cgi?cmd=GetMJStream&usr={user}&pwd={password}"
    assert (user, password) == ("admin", "S&cret=1") and b"cret" not in bytes(stored.credential_ciphertext)
    source = StreamSource.from_url(stream.url, username=user, password=password)
    assert source.url_with_credentials() == url
