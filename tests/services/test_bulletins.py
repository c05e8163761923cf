"""Incident bulletins on both backends: what is checked at the edge, what is recorded and audited, the outbox over a
real SMTP server (aiosmtpd, STARTTLS with a test CA, sign-in), relays that are down, slow, hostile or refusing."""

from __future__ import annotations

import hashlib
import struct
import threading
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from console.domain.audit import Action
from console.domain.bulletins import DeliveryState, address_hash, backoff_s, sniff
from console.domain.users import Role
from console.errors import UserError
from console.services.bulletin_outbox import BulletinOutbox, SmtpConfig
from console.services.bulletins import BulletinService
from console.store.models import BulletinRecipientRow, BulletinRow, ChangeRow
from tests.services.conftest import NOW, audit_rows
from tests.support.smtp_server import PASSWORD, USER, SilentRelay, SmtpRelay

ADDRESSES = ["unit12@police.example.gov", "Sgt.Ortiz@Police.Example.gov"]


def png(width: int = 4, height: int = 3) -> bytes:
    """A real (tiny, grey) PNG file."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    raw = b"".join(b"\x00" + b"\x80" * (width * 3) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def mp4(seconds: float, folder: Path) -> bytes:
    """A real H.264 MP4 of `seconds`, made by the ClipBuffer from packets PyAV encoded."""
    import av
    from console.video.clip_buffer import ClipBuffer

    path = folder / "source.ts"
    with av.open(str(path), "w", format="mpegts") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"g": "10"}
        for i in range(int(seconds * 10)):
            frame = av.VideoFrame(64, 48, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes([i * 7 % 256]) * plane.buffer_size)
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    buffer = ClipBuffer(seconds + 5)
    with av.open(str(path)) as source:
        buffer.start_session(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            buffer.add(packet)
    return buffer.write_mp4()


@pytest.fixture
def incident(registry):
    return registry["incident"]


@pytest.fixture
def bulletins(database, audit):
    return BulletinService(database, audit, workstation="rtic-ws-1", max_mb=1.0, clip_max_s=15)


@pytest.fixture
def relay(tmp_path):
    with SmtpRelay(tmp_path / "relay") as relay:
        yield relay


@pytest.fixture
def smtp_env(monkeypatch):
    monkeypatch.setenv("RTIC_SMTP_PASSWORD", PASSWORD)


def config_for(relay, **kw) -> SmtpConfig:
    values = dict(host="127.0.0.1", port=relay.port, starttls=True, ca_file=str(relay.ca),
                  sender="rtic-bulletins@police.example.gov", user=USER, timeout_s=3.0)
    values.update(kw)
    return SmtpConfig(**values)


def recipient_rows(database):
    with database.engine.connect() as conn:
        return conn.execute(select(BulletinRecipientRow.__table__).order_by(BulletinRecipientRow.__table__.c.id)).all()


# --- sending: recorded, hashed, audited, announced -------------------------------------------------------------


def test_send_records_hashes_audits_and_announces(bulletins, people, incident, database, registry):
    image = png()
    sent = bulletins.send(people[Role.DISPATCHER], incident, "Red hoodie, heading north on Elm", ADDRESSES, NOW,
                          image=image, reason="robbery in progress", camera_id=registry["always"])
    assert sent.recipients == 2
    stored = bulletins.get(sent.bulletin_id)
    assert stored.image.data == image and stored.image.sha256 == hashlib.sha256(image).hexdigest()
    assert stored.sent_by == "dispatcher" and stored.cad_number == "CAD-2026-0042"
    assert {r.address for r in stored.recipients} == {"unit12@police.example.gov", "sgt.ortiz@police.example.gov"}
    assert all(r.state is DeliveryState.QUEUED for r in stored.recipients)
    [event] = audit_rows(database, Action.BULLETIN_SEND)
    assert event["username"] == "dispatcher" and event["incident_id"] == incident
    details = event["details"]
    assert details["content_sha256"] == sent.content_sha256
    assert details["attachments"][0]["sha256"] == hashlib.sha256(image).hexdigest()
    assert details["recipients"] == sorted(address_hash(a.lower()) for a in ADDRESSES)
    assert "police.example.gov" not in str(event)  # hashes only: no address in the trail
    with database.engine.connect() as conn:
        kinds = conn.execute(select(ChangeRow.__table__.c.kind, ChangeRow.__table__.c.record_id)).all()
    assert ("bulletin", sent.bulletin_id) in [tuple(k) for k in kinds]


def test_groups_expand_and_are_audited_with_hashes(bulletins, people, incident, database):
    bulletins.save_group(people[Role.SUPERVISOR], "Patrol sector 2", ["a1@pd.example.gov", "A2@pd.example.gov"], NOW)
    sent = bulletins.send(people[Role.DETECTIVE], incident, "Suspect vehicle: grey sedan", ["Patrol sector 2",
                          "a1@pd.example.gov"], NOW)
    assert sent.recipients == 2
    [group_event] = audit_rows(database, Action.BULLETIN_GROUP)
    assert group_event["details"]["members"] == [address_hash("a1@pd.example.gov"), address_hash("a2@pd.example.gov")]
    assert "pd.example.gov" not in str(group_event)
    with pytest.raises(UserError, match="no recipient group 'Sector 9'"):
        bulletins.send(people[Role.DETECTIVE], incident, "x", ["Sector 9"], NOW)


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMIN, Role.OUTREACH])
def test_roles_that_do_not_work_incidents_cannot_send(bulletins, people, incident, role, database):
    with pytest.raises(UserError, match="cannot send bulletins"):
        bulletins.send(people[role], incident, "x", ADDRESSES[:1], NOW)
    with pytest.raises(UserError, match="cannot send bulletins"):
        bulletins.save_group(people[role], "g", ADDRESSES, NOW)
    assert bulletins.list() == [] and audit_rows(database, Action.BULLETIN_SEND) == []


HOSTILE_ADDRESSES = ["not-an-address", "a@b", "x@example.org\r\nBcc: everyone@example.org", "<script>@x.org",
                     "a" * 300 + "@example.org", "user@exa mple.org", "\u202eevil@example.org", ""]


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES[:-1])
def test_hostile_addresses_are_refused_with_a_sentence(bulletins, people, incident, address, database):
    with pytest.raises(UserError, match="not an e-mail address|no recipient group"):
        bulletins.send(people[Role.DISPATCHER], incident, "x", [address], NOW)
    assert bulletins.list() == []


@pytest.mark.parametrize("data,match", [
    (b"GIF89a" + b"\x00" * 100, "not a PNG, JPEG or MP4"),
    (b"<svg onload=alert(1)>", "not a PNG, JPEG or MP4"),
    (b"", "not a PNG, JPEG or MP4"),
    (b"\x00\x00\x00\x18ftypisom" + b"\x00" * 64, "is a video"),
])
def test_hostile_images_are_refused(bulletins, people, incident, data, match):
    with pytest.raises(UserError, match=match):
        bulletins.send(people[Role.DISPATCHER], incident, "x", ADDRESSES, NOW, image=data)
    assert bulletins.list() == []


def test_clips_are_checked_by_content_length_and_size(bulletins, people, incident, tmp_path, database, audit):
    with pytest.raises(UserError, match="cannot be read as an MP4"):
        bulletins.send(people[Role.DISPATCHER], incident, "x", ADDRESSES, NOW,
                       clip=b"\x00\x00\x00\x18ftypisom" + b"\xff" * 500)
    with pytest.raises(UserError, match="is a picture"):
        bulletins.send(people[Role.DISPATCHER], incident, "x", ADDRESSES, NOW, clip=png())
    long_clip = mp4(4.0, tmp_path)
    short = BulletinService(database, audit, "rtic-ws-1", max_mb=1.0, clip_max_s=2)
    with pytest.raises(UserError, match=r"clip is [34]\.\d s long.*at most 2 s"):
        short.send(people[Role.DISPATCHER], incident, "x", ADDRESSES, NOW, clip=long_clip)
    with pytest.raises(UserError, match="does not send clips"):
        BulletinService(database, audit, "rtic-ws-1", clip_max_s=0).send(
            people[Role.DISPATCHER], incident, "x", ADDRESSES, NOW, clip=long_clip)
    tiny = BulletinService(database, audit, "rtic-ws-1", max_mb=0.001, clip_max_s=15)
    with pytest.raises(UserError, match="at most 0.001 MB"):
        tiny.send(people[Role.DISPATCHER], incident, "x", ADDRESSES, NOW, clip=long_clip)
    sent = bulletins.send(people[Role.DISPATCHER], incident, "x", ADDRESSES, NOW, clip=long_clip)
    assert bulletins.get(sent.bulletin_id).clip.data == long_clip
    [listed] = bulletins.list(incident)  # a list (every panel, at every change) does not read the clip itself
    assert listed.clip.data == b"" and not listed.clip.loaded
    assert (listed.clip.sha256, listed.clip.size) == (hashlib.sha256(long_clip).hexdigest(), len(long_clip))


@pytest.mark.parametrize("text,match", [("x" * 1001, "1001 characters long: keep it to 1000"),
                                        ("bell\x07", "control characters"), ("\u202egnp.exe", "control characters"),
                                        ("", "nothing to send")])
def test_hostile_or_empty_text_is_refused(bulletins, people, incident, text, match):
    with pytest.raises(UserError, match=match):
        bulletins.send(people[Role.DISPATCHER], incident, text, ADDRESSES, NOW)


def test_unknown_incident_and_camera_change_nothing(bulletins, people, incident, database):
    with pytest.raises(UserError, match="no incident 999"):
        bulletins.send(people[Role.DISPATCHER], 999, "x", ADDRESSES, NOW)
    with pytest.raises(UserError, match="no camera 999"):
        bulletins.send(people[Role.DISPATCHER], incident, "x", ADDRESSES, NOW, camera_id=999)
    assert bulletins.list() == [] and audit_rows(database, Action.BULLETIN_SEND) == []


def test_sniff_looks_at_content_not_names():
    assert sniff(png()).value == "image/png"
    assert sniff(b"\xff\xd8\xff\xe0JFIF").value == "image/jpeg"
    assert sniff(b"\x00\x00\x00\x14ftypqt  ") is None  # QuickTime is not MP4
    assert [backoff_s(n) for n in (1, 2, 3, 6, 7, 30)] == [5, 10, 20, 160, 300, 300]


# --- the outbox over real SMTP ---------------------------------------------------------------------------------


def test_delivery_over_starttls_with_sign_in_and_attachments(bulletins, people, incident, database, relay, smtp_env,
                                                             tmp_path):
    image, clip = png(), mp4(2.0, tmp_path)
    sent = bulletins.send(people[Role.DISPATCHER], incident, "Red hoodie\nheading north", ADDRESSES, NOW,
                          image=image, clip=clip)
    report = BulletinOutbox(database, config_for(relay), "rtic-ws-1").deliver_due()
    assert (report.sent, report.retry, report.failed) == (2, 0, 0), report.errors
    assert relay.logins == [(USER, PASSWORD)] * 2
    assert len(relay.messages) == 2
    for rcpts, message, over_tls in relay.messages:
        assert over_tls
        assert message["Subject"] == "RTIC bulletin CAD-2026-0042: Red hoodie"
        assert sent.content_sha256 in message["X-RTIC-Bulletin"]
        parts = {p.get_filename(): p.get_content() for p in message.iter_attachments()}
        assert hashlib.sha256(parts["snapshot.png"]).hexdigest() == hashlib.sha256(image).hexdigest()
        assert hashlib.sha256(parts["clip.mp4"]).hexdigest() == hashlib.sha256(clip).hexdigest()
    assert {r[0][0] for r in relay.messages} == {"unit12@police.example.gov", "sgt.ortiz@police.example.gov"}
    states = {r.state for r in bulletins.get(sent.bulletin_id).recipients}
    assert states == {DeliveryState.SENT}
    assert BulletinOutbox(database, config_for(relay), "rtic-ws-1").deliver_due().sent == 0  # never twice


def test_relay_down_waits_then_sends_once(bulletins, people, incident, database, relay, smtp_env):
    bulletins.send(people[Role.DISPATCHER], incident, "x", ADDRESSES, NOW)
    outbox = BulletinOutbox(database, config_for(relay), "rtic-ws-1")
    relay.down()
    report = outbox.deliver_due()
    assert (report.sent, report.retry) == (0, 2)
    assert "cannot be reached" in report.errors[0]
    rows = recipient_rows(database)
    assert all(r.state == "queued" and r.attempts == 1 for r in rows)
    assert outbox.deliver_due().retry == 0  # not due again before its backoff
    relay.up()
    later = max(r.next_attempt_at for r in rows) + timedelta(seconds=1)
    report = outbox.deliver_due(now=later.replace(tzinfo=rows[0].next_attempt_at.tzinfo or NOW.tzinfo))
    assert report.sent == 2 and len(relay.messages) == 2
    assert outbox.deliver_due(now=later + timedelta(hours=1)).sent == 0 and len(relay.messages) == 2


def test_permanent_refusal_fails_and_temporary_retries(bulletins, people, incident, database, relay, smtp_env):
    relay.answers["unit12@police.example.gov"] = "550 5.1.1 no such mailbox"
    relay.answers["sgt.ortiz@police.example.gov"] = "451 4.3.0 try again later"
    sent = bulletins.send(people[Role.DISPATCHER], incident, "x", ADDRESSES, NOW)
    report = BulletinOutbox(database, config_for(relay), "rtic-ws-1").deliver_due()
    assert (report.failed, report.retry, report.sent) == (1, 1, 0)
    by_address = {r.address: r for r in bulletins.get(sent.bulletin_id).recipients}
    assert by_address["unit12@police.example.gov"].state is DeliveryState.FAILED
    assert "550" in by_address["unit12@police.example.gov"].last_error
    assert by_address["sgt.ortiz@police.example.gov"].state is DeliveryState.QUEUED


def test_message_bigger_than_the_relay_takes_fails_with_a_reason(bulletins, people, incident, database, tmp_path,
                                                                 smtp_env):
    with SmtpRelay(tmp_path / "small", data_size_limit=2000) as small:
        bulletins.send(people[Role.DISPATCHER], incident, "x", ADDRESSES[:1], NOW, image=png(200, 200))
        report = BulletinOutbox(database, config_for(small), "rtic-ws-1").deliver_due()
    assert report.failed == 1 and ("relay takes at most 2000" in report.errors[0] or "552" in report.errors[0])
    [row] = recipient_rows(database)
    assert row.state == "failed" and row.last_error


def test_wrong_password_and_untrusted_certificate_keep_the_copy(bulletins, people, incident, database, relay,
                                                                monkeypatch, tmp_path):
    bulletins.send(people[Role.DISPATCHER], incident, "x", ADDRESSES[:1], NOW)
    monkeypatch.setenv("RTIC_SMTP_PASSWORD", "wrong-password-123")
    report = BulletinOutbox(database, config_for(relay), "rtic-ws-1").deliver_due()
    assert report.retry == 1 and "refused the sign-in" in report.errors[0]
    assert "wrong-password-123" not in str(report.errors) and "wrong-password-123" not in str(recipient_rows(database))
    other_ca = SmtpRelay(tmp_path / "other")  # a CA the relay's certificate was not signed by
    with database.engine.begin() as conn:
        conn.execute(update(BulletinRecipientRow.__table__).values(next_attempt_at=NOW))
    monkeypatch.setenv("RTIC_SMTP_PASSWORD", PASSWORD)
    report = BulletinOutbox(database, config_for(relay, ca_file=str(other_ca.ca)), "rtic-ws-1").deliver_due()
    assert report.retry == 1 and "did not start TLS" in report.errors[0] and relay.messages == []


def test_no_relay_or_no_password_says_why(database, smtp_env, monkeypatch, relay):
    assert "smtp_host" in BulletinOutbox(database, SmtpConfig(host=""), "ws").deliver_due().problem
    for hostile in ("rtic@pd.example.gov\r\nBcc: all@example.org", "nobody", "a@b"):
        assert "smtp_from" in BulletinOutbox(database, config_for(relay, sender=hostile), "ws").deliver_due().problem
    monkeypatch.delenv("RTIC_SMTP_PASSWORD")
    assert "RTIC_SMTP_PASSWORD" in BulletinOutbox(database, config_for(relay), "ws").deliver_due().problem


@pytest.mark.parametrize("greeting", [b"", b"220 slow.example ESMTP\r\n", b"\x00\xff garbage \r\n" * 3])
def test_silent_slow_or_garbage_relay_times_out_and_keeps_the_copy(bulletins, people, incident, database, smtp_env,
                                                                   greeting):
    bulletins.send(people[Role.DISPATCHER], incident, "x", ADDRESSES[:1], NOW)
    with SilentRelay(greeting) as hostile:
        config = SmtpConfig(host="127.0.0.1", port=hostile.port, sender="a@pd.example.gov", timeout_s=1.0,
                            user=USER)
        report = BulletinOutbox(database, config, "rtic-ws-1").deliver_due()
    assert report.retry == 1 and report.sent == 0
    [row] = recipient_rows(database)
    assert row.state == "queued" and row.last_error


def test_stale_sending_copy_is_resent_with_the_same_message_id(bulletins, people, incident, database, relay,
                                                               smtp_env):
    bulletins.send(people[Role.DISPATCHER], incident, "x", ADDRESSES[:1], NOW)
    [row] = recipient_rows(database)
    table = BulletinRecipientRow.__table__
    with database.engine.begin() as conn:  # a console that claimed it and died mid-send, 5 minutes ago
        conn.execute(update(table).values(state="sending", claimed_by="dead-ws", claimed_at=NOW - timedelta(minutes=5),
                                          attempts=1))
    outbox = BulletinOutbox(database, config_for(relay), "rtic-ws-1")
    assert outbox.deliver_due(now=NOW).sent == 0  # not stale yet: someone may still be sending it
    assert outbox.deliver_due(now=NOW + timedelta(minutes=6)).sent == 1
    [(_, message, _)] = relay.messages
    assert message["Message-ID"] == row.message_id


@pytest.mark.postgres
def test_two_consoles_delivering_at_once_send_each_copy_once(pg_url, tmp_path, smtp_env):
    from console.store.audit import AuditLog
    from console.store.db import open_database
    from tests.services.conftest import PASSWORD as ACCOUNT_PASSWORD
    from console.services.accounts import AccountService
    from argon2 import PasswordHasher
    from console.domain.incidents import Incident
    from console.store import registry as repo

    db = open_database(pg_url, create=True)
    try:
        accounts = AccountService(db, AuditLog(db), hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
                                  workstation="ws")
        user = accounts.add_user("os:test", "disp", Role.DISPATCHER, ACCOUNT_PASSWORD, NOW - timedelta(days=1))
        with db.engine.begin() as conn:
            incident = repo.add_incident(conn, Incident(None, "CAD-9", "robbery", 1, "1 Main", 39.9, -75.1, NOW))
        service = BulletinService(db, AuditLog(db), "ws-a")
        addresses = [f"unit{i}@pd.example.gov" for i in range(12)]
        service.send(user, incident, "x", addresses, NOW)
        with SmtpRelay(tmp_path / "relay") as relay:
            outboxes = [BulletinOutbox(open_database(pg_url), config_for(relay), f"ws-{n}") for n in range(3)]
            reports = [None] * 3
            threads = [threading.Thread(target=lambda n=n: reports.__setitem__(n, outboxes[n].deliver_due()))
                       for n in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            for o in outboxes:
                o.database.close()
        assert sum(r.sent for r in reports) == 12
        assert sorted(m[0][0] for m in relay.messages) == sorted(addresses)  # each once, none twice
        with db.engine.connect() as conn:
            assert conn.execute(select(BulletinRow.__table__.c.id)).all()
    finally:
        db.close()


# --- evidence -------------------------------------------------------------------------------------------------


def test_bulletins_are_evidence_in_packages_that_verify(bulletins, people, incident, registry, database, audit,
                                                        tmp_path):
    from console.services.evidence import verify_package
    from console.services.footage import FootageService

    image = png()
    sent = bulletins.send(people[Role.DISPATCHER], incident, "Red hoodie", ADDRESSES, NOW, image=image)
    package = bulletins.export_package(people[Role.DETECTIVE], incident, tmp_path / "bulletins.zip", NOW)
    assert package["bulletin_ids"] == [sent.bulletin_id]
    names = {f["name"]: f for f in package["files"]}
    assert names[f"files/B{sent.bulletin_id}-snapshot.png"]["sha256"] == hashlib.sha256(image).hexdigest()
    report = verify_package(tmp_path / "bulletins.zip")
    assert report.intact and report.checked == 2
    [event] = audit_rows(database, Action.EVIDENCE_EXPORT)
    assert event["details"]["bulletin_ids"] == [sent.bulletin_id]

    footage = FootageService(database, audit, evidence_dir=tmp_path / "evidence", workstation="ws")
    created = footage.create(people[Role.DETECTIVE], incident, NOW - timedelta(hours=1), NOW - timedelta(minutes=5),
                             NOW, camera_ids=[registry["registered"]])
    (tmp_path / "dvr.mp4").write_bytes(b"owner's export")
    request = footage.get(created.request_ids[0])
    footage.attach_files(people[Role.DETECTIVE], request.id, request.version, [tmp_path / "dvr.mp4"], NOW)
    manifest = footage.export_package(people[Role.DETECTIVE], [request.id], tmp_path / "incident.zip", NOW)
    assert manifest["bulletin_ids"] == [sent.bulletin_id]
    assert any(f["name"] == f"bulletins/B{sent.bulletin_id}.json" for f in manifest["files"])
    assert verify_package(tmp_path / "incident.zip").intact
    import zipfile

    with zipfile.ZipFile(tmp_path / "incident.zip") as zf:  # the record names recipients by hash only
        record = zf.read(f"bulletins/B{sent.bulletin_id}.json").decode()
    assert "police.example.gov" not in record and address_hash("unit12@police.example.gov") in record
    with zipfile.ZipFile(tmp_path / "incident.zip", "a") as zf:  # tampering is found
        zf.writestr(f"files/B{sent.bulletin_id}-snapshot.png.extra", b"x")
    assert not verify_package(tmp_path / "incident.zip").intact
