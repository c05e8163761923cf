"""Benchmark: 20 simulated consoles on one PostgreSQL registry for 5 minutes (issue 8).

Run: .venv/bin/python tests/bench/load.py [--consoles 20] [--seconds 300] [--cameras 20000]
Each console is a process using the service layer as the window does: an audited nearby search around a random
incident, a live view started and ended (decision, durable view-start and view-end events), and every 5th round a
registry edit (a camera's sharing mode, version-checked, with its change-feed entry). At the end the audit trail
is checked: every event a console stored is there exactly once (view starts and ends pair up one to one with the
view sessions), no console saw an error, the hash chain verifies. Prints one JSON line per figure.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import create_engine, func, select, text, update  # noqa: E402

from console.domain.access import Purpose  # noqa: E402
from console.domain.audit import Action, AuditEntry  # noqa: E402
from console.domain.changes import ChangeKind  # noqa: E402
from console.domain.users import Role  # noqa: E402
from console.services.accounts import AccountService  # noqa: E402
from console.services.demo import generate_demo  # noqa: E402
from console.services.demo_town import CAMERAS_PER_KM2, CENTRE, offset  # noqa: E402
from console.services.registry import RegistryService  # noqa: E402
from console.services.viewing import ViewingService  # noqa: E402
from console.store import changes as feed  # noqa: E402
from console.store.audit import AuditLog  # noqa: E402
from console.store.db import open_database  # noqa: E402
from console.store.models import AuditEventRow, CameraRow, ViewSessionRow  # noqa: E402
from console.store.secrets import ContactCipher  # noqa: E402
from console.store.users import get_user  # noqa: E402

PG_ADMIN = os.environ.get("RTIC_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres")
KEY = os.urandom(32)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else None


def console(n: int, url: str, key: bytes, seconds: float, half_km: float, out) -> None:
    """One simulated console: its own process, engine and pool, as a workstation has."""
    rng = random.Random(n)
    database = open_database(url)
    audit, cipher = AuditLog(database), ContactCipher(key)
    registry, viewing = RegistryService(database), ViewingService(database, audit, cipher, workstation=f"ws-{n}")
    with database.engine.connect() as conn:
        user = get_user(conn, f"disp{n}")
        live = [row.id for row in conn.execute(select(CameraRow.id).where(CameraRow.sharing_mode == "always")
                                               .where(CameraRow.capability == "live")
                                               .where(CameraRow.status == "active"))]
    figures = {"search_ms": [], "append_ms": [], "view_ms": [], "edit_ms": [], "errors": [], "appended": 0,
               "views": 0, "edits": 0}
    deadline = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < deadline:
        rounds += 1
        try:
            lat, lon = offset(CENTRE, rng.uniform(-half_km, half_km) * 1000, rng.uniform(-half_km, half_km) * 1000)
            started = time.perf_counter()
            found = registry.nearby(lat, lon, 500.0)
            figures["search_ms"].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            audit.append(AuditEntry(Action.SEARCH_NEAR, user.username, f"ws-{n}",
                                    details={"lat": round(lat, 6), "lon": round(lon, 6), "radius_m": 500.0,
                                             "found": len(found)}))
            figures["append_ms"].append((time.perf_counter() - started) * 1000)
            figures["appended"] += 1
            started = time.perf_counter()
            camera_id = rng.choice(live)
            now = datetime.now(timezone.utc)
            authorization = viewing.start_view(user, camera_id, Purpose("load test", cad_number=f"LOAD-{n}"), now)
            viewing.end_view(authorization.session_id, "closed", datetime.now(timezone.utc))
            figures["view_ms"].append((time.perf_counter() - started) * 1000)
            figures["appended"] += 2
            figures["views"] += 1
            if rounds % 5 == 0:
                started = time.perf_counter()
                edit(database, audit, rng.choice(live), user.username, f"ws-{n}")
                figures["edit_ms"].append((time.perf_counter() - started) * 1000)
                figures["appended"] += 1
                figures["edits"] += 1
        except Exception as exc:  # noqa: BLE001 - counted and reported: the run must have none
            figures["errors"].append(f"{exc.__class__.__name__}: {str(exc)[:200]}")
    database.close()
    out.put(figures)


def edit(database, audit, camera_id: int, username: str, workstation: str) -> None:
    """A version-checked registry edit: relabel a camera (a concurrent edit of the same camera is retried)."""
    cameras = CameraRow.__table__
    for _attempt in range(5):
        with database.engine.begin() as conn:
            row = conn.execute(select(cameras.c.version, cameras.c.label).where(cameras.c.id == camera_id)).one()
            label = f"{row.label.split(' #')[0]} #{row.version + 1}"
            done = conn.execute(update(cameras).where(cameras.c.id == camera_id)
                                .where(cameras.c.version == row.version)
                                .values(label=label, version=row.version + 1)).rowcount
            if not done:
                continue  # someone else saved first: read again
            audit.append(AuditEntry(Action.REGISTRY_CHANGE, username, workstation, camera_id=camera_id,
                                    details={"field": "label", "old": row.label, "new": label}), conn=conn)
            feed.record_change(conn, ChangeKind.CAMERA, camera_id, workstation)
            return
    raise RuntimeError(f"camera {camera_id}: five concurrent edits in a row")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consoles", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--cameras", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true",
                        help="a brief run that checks the benchmark still works (consoles=2, seconds=10, cameras=500); figures are not comparable")
    args = parser.parse_args()
    if args.quick:
        args.consoles, args.seconds, args.cameras = min(args.consoles, 2), min(args.seconds, 10.0), min(args.cameras, 500)

    name = f"rtic_bench_load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        database = open_database(url, create=True)
        generate_demo(database, ContactCipher(KEY), cameras=args.cameras, seed=1)
        audit = AuditLog(database)
        accounts = AccountService(database, audit, ContactCipher(KEY), PasswordHasher(time_cost=1, memory_cost=8,
                                                                                        parallelism=1))
        now = datetime.now(timezone.utc) - timedelta(days=1)
        for n in range(args.consoles):
            accounts.add_user("bench", f"disp{n}", Role.DISPATCHER, "a long enough password", now)
        with database.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        before = audit.head().seq
        half_km = (max(args.cameras / CAMERAS_PER_KM2, 1.0) ** 0.5) / 2

        out = multiprocessing.get_context("spawn").Queue()
        workers = [multiprocessing.get_context("spawn").Process(
            target=console, args=(n, url, KEY, args.seconds, half_km, out)) for n in range(args.consoles)]
        for worker in workers:
            worker.start()
        results = [out.get(timeout=args.seconds + 600) for _ in workers]
        for worker in workers:
            worker.join()

        with database.engine.connect() as conn:
            events = conn.execute(select(func.count()).select_from(AuditEventRow)
                                  .where(AuditEventRow.seq > before)).scalar_one()
            starts = conn.execute(select(func.count()).select_from(AuditEventRow)
                                  .where(AuditEventRow.action == Action.VIEW_START)).scalar_one()
            ends = conn.execute(select(func.count()).select_from(AuditEventRow)
                                .where(AuditEventRow.action == Action.VIEW_END)).scalar_one()
            sessions = conn.execute(select(func.count()).select_from(ViewSessionRow)
                                    .where(ViewSessionRow.ended_at.is_not(None))).scalar_one()
        verified = audit.verify()
        database.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    merged = {key: [v for r in results for v in r[key]] for key in ("search_ms", "append_ms", "view_ms", "edit_ms",
                                                                     "errors")}
    appended = sum(r["appended"] for r in results)
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine()}
    common = {"bench": "load", "backend": "postgresql", "consoles": args.consoles, "seconds": args.seconds,
              "cameras": args.cameras, **machine}
    for figure in ("search_ms", "append_ms", "view_ms", "edit_ms"):
        values = merged[figure]
        print(json.dumps({**common, "figure": figure, "count": len(values),
                          "p50": round(percentile(values, 50), 2) if values else None,
                          "p99": round(percentile(values, 99), 2) if values else None}))
    print(json.dumps({**common, "figure": "integrity", "errors": len(merged["errors"]),
                      "first_errors": merged["errors"][:3], "events_stored_by_consoles": appended,
                      "events_in_log": events, "lost_or_doubled": events - appended,
                      "view_starts": starts, "view_ends": ends, "ended_sessions": sessions,
                      "chain_verifies": verified.ok, "events_checked": verified.checked}))


if __name__ == "__main__":
    main()
