"""Benchmark: incident bulletins on PostgreSQL: how long a send takes (record, hash, audit, announce), how long until
a second console has it (LISTEN/NOTIFY change, then the bulletin read), and until its e-mail copy is at the relay.

Run: .venv/bin/python tests/bench/bulletin_latency.py [--bulletins 100] [--image-kb 300] [--quick]
Prints one JSON line per figure (no thresholds). The relay is a real aiosmtpd server on loopback with mandatory
STARTTLS (a test CA) and sign-in; the sending console's outbox is woken after each send, as the window does.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("RTIC_CONTACT_KEY", base64.b64encode(os.urandom(32)).decode())

from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from console.domain.changes import ChangeKind  # noqa: E402
from console.domain.incidents import Incident  # noqa: E402
from console.domain.users import Role  # noqa: E402
from console.services.accounts import AccountService  # noqa: E402
from console.services.bulletin_outbox import BulletinOutbox, OutboxRunner, SmtpConfig  # noqa: E402
from console.services.bulletins import BulletinService  # noqa: E402
from console.services.changes import ChangeFollower  # noqa: E402
from console.store import registry as repo  # noqa: E402
from console.store.audit import AuditLog  # noqa: E402
from console.store.db import open_database  # noqa: E402
from tests.support.smtp_server import PASSWORD, USER, SmtpRelay  # noqa: E402

PG_ADMIN = os.environ.get("RTIC_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def emit(figure: str, values: list[float], unit: str = "ms", **extra) -> None:
    print(json.dumps({"figure": figure, "unit": unit, "count": len(values),
                      "p50": round(percentile(values, 50), 2) if values else None,
                      "p95": round(percentile(values, 95), 2) if values else None,
                      "max": round(max(values), 2) if values else None, **extra,
                      "host": platform.node(), "python": platform.python_version()}), flush=True)


def png_of(kb: int) -> bytes:
    """A real PNG of about `kb` kilobytes (noise does not compress)."""
    import struct
    import zlib

    side = max(8, int((kb * 1024 / 3) ** 0.5))
    raw = b"".join(b"\x00" + os.urandom(side * 3) for _ in range(side))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b""))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bulletins", type=int, default=100)
    parser.add_argument("--image-kb", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="a few bulletins: a check that it works")
    args = parser.parse_args()
    if args.quick:
        args.bulletins, args.image_kb = 6, 50
    name = f"rtic_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    os.environ["RTIC_SMTP_PASSWORD"] = PASSWORD
    folder = Path(tempfile.mkdtemp(prefix="rtic-bulletin-bench-"))
    try:
        sender_db, other_db = open_database(url, create=True), open_database(url)
        now = datetime.now(timezone.utc)
        user = AccountService(sender_db, AuditLog(sender_db), hasher=PasswordHasher(time_cost=1, memory_cost=8,
                                                                                    parallelism=1)).add_user(
            "os:bench", "disp", Role.DISPATCHER, "a long enough password", now - timedelta(days=1))
        with sender_db.engine.begin() as conn:
            incident = repo.add_incident(conn, Incident(None, "CAD-BENCH", "robbery", 1, "1 Main", 42.1, -72.6, now))
        service = BulletinService(sender_db, AuditLog(sender_db), "ws-sender")
        other = BulletinService(other_db, AuditLog(other_db), "ws-other")
        seen: dict[int, float] = {}
        arrived = threading.Condition()

        def on_changes(batch) -> None:  # the second console: a change arrives, it reads the bulletin to show it
            for change in batch:
                if change.kind is ChangeKind.BULLETIN and change.record_id is not None and change.record_id not in seen:
                    other.get(change.record_id)
                    with arrived:
                        seen[change.record_id] = time.monotonic()
                        arrived.notify_all()

        follower = ChangeFollower(other_db, on_changes=on_changes)
        follower.start()
        deadline = time.monotonic() + 10
        while follower.online is not True and time.monotonic() < deadline:
            time.sleep(0.02)
        image = png_of(args.image_kb)
        with SmtpRelay(folder / "relay") as relay:
            runner = OutboxRunner(BulletinOutbox(sender_db, SmtpConfig(
                host="127.0.0.1", port=relay.port, ca_file=str(relay.ca), sender="rtic@pd.example.gov", user=USER,
                timeout_s=10), "ws-sender"), interval_s=5.0)
            runner.start()
            sends, to_other, to_mail = [], [], []
            for i in range(args.bulletins):
                before_mail = len(relay.messages)
                began = time.monotonic()
                sent = service.send(user, incident, f"Bulletin {i}: red hoodie heading north", ["unit4@pd.example.gov"],
                                    datetime.now(timezone.utc), image=image, reason="bench")
                sends.append((time.monotonic() - began) * 1000)
                runner.wake()
                with arrived:
                    arrived.wait_for(lambda: sent.bulletin_id in seen, timeout=30)
                if sent.bulletin_id in seen:
                    to_other.append((seen[sent.bulletin_id] - began) * 1000)
                while len(relay.messages) <= before_mail and time.monotonic() - began < 30:
                    time.sleep(0.002)
                if len(relay.messages) > before_mail:
                    to_mail.append((relay.arrival_times[before_mail] - began) * 1000)
            runner.stop()
            messages = len(relay.messages)
        follower.stop()
        emit("bulletin_send", sends, image_kb=len(image) // 1024, backend="postgresql")
        emit("bulletin_seen_on_second_console", to_other, how=follower.how, backend="postgresql")
        emit("bulletin_email_at_relay", to_mail, tls="STARTTLS", backend="postgresql")
        print(json.dumps({"figure": "bulletin_email_copies", "sent": args.bulletins, "received": messages,
                          "duplicates": messages - args.bulletins}), flush=True)
        sender_db.close()
        other_db.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
