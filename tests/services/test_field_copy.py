"""Field laptop mode: the encrypted registry copy gives the nearby search the database's answer, holds only what
the role may see, is sealed to its user's password (the whole data folder without it opens nothing), refuses a wrong
password or an altered file clearly, and never shows a camera's label in plain text."""

from __future__ import annotations

import base64
import os
import random
from datetime import timedelta

import pytest

from console.domain.access import Purpose, Rule
from console.domain.audit import Action
from console.domain.cameras import Camera, Capability, SharingMode, Stream, StreamProtocol, StreamRole
from console.domain.users import Role
from console.errors import UserError
from console.services.field_copy import FieldCopy
from console.services.field_copy_file import KdfParams, WrongPassword
from console.services.offline import ResilientViewingService
from console.services.resilience import ResilientAudit
from console.services.viewing import ViewDenied
from console.store import registry as repo
from console.store.journal import AuditJournal
from console.store.spatial import nearby_cameras
from tests.services.conftest import NOW, PASSWORD, audit_rows

CHEAP = KdfParams(time_cost=1, memory_cost=8, parallelism=1)  # tests only: the default costs 64 MiB per derivation


def sealed(path) -> FieldCopy:
    return FieldCopy(path, CHEAP)


def refresh(copy: FieldCopy, *args, **kwargs):
    return copy.refresh(*args, **kwargs, seal=copy.seal_for(PASSWORD))

LABEL = "Maple Bakery rear door"


@pytest.fixture
def town(database, cipher, registry):
    """The services' registry plus 60 cameras scattered within 3 km, one with a label to look for."""
    rng = random.Random(8)
    with database.engine.begin() as conn:
        for n in range(60):
            lat, lon = 39.95 + rng.uniform(-0.025, 0.025), -75.16 + rng.uniform(-0.03, 0.03)
            site = repo.add_site(conn, registry["owner"], f"site {n}", f"{n} Main St", lat, lon)
            live = n % 2 == 0
            camera = Camera(id=None, site_id=site, label=LABEL if n == 0 else f"camera {n}", lat=lat, lon=lon,
                            address=f"{n} Main St", capability=Capability.LIVE if live else Capability.REGISTERED,
                            sharing_mode=SharingMode.ALWAYS if live else SharingMode.NEVER,
                            streams=(Stream(StreamProtocol.RTSP, f"rtsp://cam:pw{n}@10.1.0.{n}/main",
                                            StreamRole.MAIN),) if live else ())
            repo.add_camera(conn, cipher, camera, registry["owner"])
    return registry


def test_the_copy_answers_the_nearby_search_as_the_database_does(database, audit, people, town, tmp_path):
    copy = sealed(tmp_path / "field.rtic")
    info = refresh(copy, database, people[Role.DETECTIVE], NOW, "field-laptop-7", audit)
    assert info.counts["cameras"] == 67 and info.counts["incidents"] == 1  # open incidents only
    assert info.counts["share_grants"] == 3
    with copy.open(PASSWORD) as field, database.engine.connect() as conn:
        for lat, lon, radius in [(39.95, -75.16, 300), (39.96, -75.15, 1500), (39.94, -75.17, 4000)]:
            expected = nearby_cameras(conn, lat, lon, radius)
            got = field.nearby(lat, lon, radius)
            assert [(c.id, round(c.distance_m, 6)) for c in got] == [(c.id, round(c.distance_m, 6)) for c in expected]
            assert got  # a search that finds nothing proves nothing
    [event] = audit_rows(database, Action.FIELD_COPY)
    assert event["username"] == "detective" and event["details"]["counts"]["cameras"] == 67


def test_the_raw_file_shows_no_label_and_holds_only_what_the_role_may_see(database, audit, people, town, tmp_path):
    detective = sealed(tmp_path / "detective.rtic")
    refresh(detective, database, people[Role.DETECTIVE], NOW, "ws", audit)
    raw = detective.path.read_bytes()
    assert LABEL.encode() not in raw and b"Main St" not in raw and b"10.1.0." not in raw
    with detective.open(PASSWORD) as field:
        stream = field.known_camera(town["always"], NOW).camera.streams[0]
        assert field.stream_credentials(stream.id) == ("viewer", "s3cret-Pass")

    auditor = sealed(tmp_path / "auditor.rtic")
    info = refresh(auditor, database, people[Role.AUDITOR], NOW, "ws", audit)
    assert info.counts["owners_revealable"] == 0 and info.counts["streams_playable"] is False
    with auditor.open(PASSWORD) as field:
        stream = field.known_camera(town["always"], NOW).camera.streams[0]
        assert field.stream_credentials(stream.id) == (None, None)
        with field.database.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM owners WHERE contact_ciphertext IS NOT NULL").scalar() == 0


def test_without_the_password_the_whole_data_folder_opens_nothing(database, audit, people, town, tmp_path,
                                                                  monkeypatch):
    """The stolen laptop: the copy, the contact key and the journal are all there; only the password is not."""
    path = tmp_path / "field.rtic"
    refresh(sealed(path), database, people[Role.DETECTIVE], NOW, "ws", audit)
    for guess in ("", "detective", "wrong password"):
        with pytest.raises(WrongPassword) as refused:
            FieldCopy(path).open(guess)
        message = str(refused.value)
        assert "sealed to detective's password" in message and "\n" not in message
    with pytest.raises(WrongPassword):
        FieldCopy(path).unlock("wrong password")
    header = FieldCopy(path).header()  # who and when are readable, nothing else
    assert (header.username, header.made_at) == ("detective", NOW.isoformat())
    with FieldCopy(path).open(PASSWORD) as field:
        assert field.username == "detective"
        assert field.known_camera(town["always"], NOW) is not None


def test_an_altered_file_and_a_foreign_file_are_refused_clearly(database, audit, people, town, tmp_path):
    path = tmp_path / "field.rtic"
    refresh(sealed(path), database, people[Role.DETECTIVE], NOW, "ws", audit)
    original = path.read_bytes()
    data = bytearray(original)
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match="damaged or was altered"):
        FieldCopy(path).open(PASSWORD)
    # The readable header is bound to the sealed body: a copy made "younger" by hand does not open.
    path.write_bytes(original.replace(NOW.isoformat().encode(), (NOW + timedelta(days=30)).isoformat().encode(), 1))
    with pytest.raises(UserError, match="damaged or was altered"):
        FieldCopy(path).open(PASSWORD)
    with pytest.raises(UserError, match="no field copy"):
        FieldCopy(tmp_path / "missing.rtic").open(PASSWORD)
    (tmp_path / "junk.rtic").write_bytes(base64.b64encode(os.urandom(64)))
    with pytest.raises(UserError, match="not a field copy"):
        FieldCopy(tmp_path / "junk.rtic").open(PASSWORD)
    (tmp_path / "old.rtic").write_bytes(b"RTICFC01" + os.urandom(64))
    with pytest.raises(UserError, match="old format that was not sealed"):
        FieldCopy(tmp_path / "old.rtic").open(PASSWORD)


def test_a_refresh_replaces_the_copy_whole(database, audit, people, town, cipher, tmp_path):
    copy = sealed(tmp_path / "field.rtic")
    refresh(copy, database, people[Role.DETECTIVE], NOW, "ws", audit)
    with database.engine.begin() as conn:
        repo.add_site(conn, town["owner"], "new site", "1 New St", 39.95, -75.16)
    info = refresh(copy, database, people[Role.DETECTIVE], NOW + timedelta(minutes=5), "ws", audit)
    assert info.counts["sites"] == 62 and copy.info(PASSWORD).made_at == info.made_at
    assert not (tmp_path / "field.rtic.tmp").exists()


def test_offline_views_can_be_decided_on_the_field_copy(database, audit, cipher, people, town, tmp_path):
    copy = sealed(tmp_path / "field.rtic")
    refresh(copy, database, people[Role.DETECTIVE], NOW - timedelta(minutes=1), "ws", audit)
    with copy.open(PASSWORD, cipher) as field:
        sink = ResilientAudit(audit, AuditJournal(tmp_path / "journal.db"))
        viewing = ResilientViewingService(database, audit, sink, cipher, workstation="ws", field_copy=field)
        sink.connectivity.went_offline("no network in the field office")
        why = Purpose(reason="suspect fled towards Elm St", cad_number="CAD-2026-0042")
        auth = viewing.start_view(people[Role.DETECTIVE], town["on_alert"], why, NOW)
        assert auth.expires_at == NOW + timedelta(minutes=8) and auth.credentials.password == "s3cret-Pass"
        with pytest.raises(ViewDenied) as denied:
            viewing.start_view(people[Role.DETECTIVE], town["never"], why, NOW)
        assert denied.value.decision.rule == Rule.SHARING_NEVER
        assert [e.entry.action for e in sink.journal.pending()] == [Action.VIEW_START, Action.VIEW_DENIED]
        assert sink.flush().appended == 2 and audit.verify().ok


def test_field_sync_and_status_from_the_command_line(database, people, town, tmp_path, capsys, monkeypatch, hasher):
    from console.cli import main, signin
    from tests.services.conftest import PASSWORD

    monkeypatch.setattr(signin, "password_hasher", lambda: hasher)
    password = tmp_path / "detective.password"  # `field sync --user X` signs in as X (console/cli/signin.py)
    password.write_text(PASSWORD + "\n")
    password.chmod(0o600)
    monkeypatch.setenv("RTIC_PASSWORD_FILE", str(password))
    copy = tmp_path / "field.rtic"
    assert main(["field", "sync", "--db", database.url, "--user", "detective", "--copy", str(copy), "--json"]) == 0
    assert '"cameras": 67' in capsys.readouterr().out
    with FieldCopy(copy).open(PASSWORD) as field:  # sealed to the password the user signed in with
        assert field.username == "detective"
    assert main(["field", "status", "--copy", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "for detective, made" in out and "0 event(s) waiting" in out
    assert main(["field", "sync", "--db", database.url, "--user", "nobody", "--copy", str(copy)]) == 2
    assert "wrong username or password" in capsys.readouterr().err
    password.write_text("not the password\n")
    assert main(["field", "sync", "--db", database.url, "--user", "detective", "--copy", str(copy)]) == 2
    err = capsys.readouterr().err
    assert "wrong username or password" in err and "Traceback" not in err
    with FieldCopy(copy).open(PASSWORD) as field:  # the copy made before is still the one there
        assert field.username == "detective"


def test_an_owner_alerts_grant_keeps_its_open_incident_and_drops_a_closed_ones(database, audit, people, town,
                                                                                 tmp_path):
    """An owner alert's grant names its incident (migration 0008); the copy holds only open incidents, so a grant
    whose incident closed is copied without it (a copy with a dangling reference failed to be made at all)."""
    from sqlalchemy import select, update

    from console.store.models import ShareGrantRow

    with database.engine.begin() as conn:
        grant_ids = [town[key] for key in sorted(town) if key.startswith("grant_")]
        conn.execute(update(ShareGrantRow).where(ShareGrantRow.id == grant_ids[0]).values(incident_id=town["incident"]))
        conn.execute(update(ShareGrantRow).where(ShareGrantRow.id == grant_ids[1])
                     .values(incident_id=town["closed_incident"]))
    copy = sealed(tmp_path / "field.rtic")
    info = refresh(copy, database, people[Role.DETECTIVE], NOW, "field-laptop-7", audit)
    assert info.counts["share_grants"] == 3 and info.counts["incidents"] == 1
    with copy.open(PASSWORD) as field, field.database.engine.connect() as conn:
        kept = dict(conn.execute(select(ShareGrantRow.id, ShareGrantRow.incident_id)).all())
    assert kept[grant_ids[0]] == town["incident"] and kept[grant_ids[1]] is None
