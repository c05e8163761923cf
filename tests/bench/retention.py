"""Benchmark: `retention plan` and `retention run` on an aged registry, on SQLite and PostgreSQL.

Run: .venv/bin/python tests/bench/retention.py [--events 200000] [--calls 50000] [--batch 500] [--quick]
A chain of old audit events and old outreach calls, then the clock four years on: the plan's time, the run's time
(the cut signed by a real auditor's key, the trail deleted batch by batch from its oldest end), rows purged per
second, and the chain check of what is left. One JSON line per figure; no thresholds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import insert  # noqa: E402

from console.domain.users import Role, User  # noqa: E402
from console.services.audit_checkpoints import keygen, load_signer  # noqa: E402
from console.services.retention import Places, RetentionService  # noqa: E402
from console.settings import Settings  # noqa: E402
from console.store.audit import AuditLog  # noqa: E402
from console.store.models import OutreachCallRow  # noqa: E402
from tests.bench.audit import emit, fill, postgres_database, sqlite_database  # noqa: E402

LATER = datetime(2030, 12, 1, tzinfo=timezone.utc)
ADMIN = User(1, "bench_admin", "Bench admin", Role.ADMIN, LATER - timedelta(days=1))


def bench(database, backend: str, events: int, calls: int, batch: int, folder: str) -> None:
    fill(database, events)
    old = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with database.engine.begin() as conn:
        for start in range(0, calls, 10_000):
            conn.execute(insert(OutreachCallRow.__table__), [
                dict(business=f"Shop {n}", address="1 Main St", called_at=old, staff="outreach", outcome="registered",
                     notes="") for n in range(start, min(calls, start + 10_000))])
    keygen(Path(folder) / "auditor.key")
    signer = load_signer(Path(folder) / "auditor.key")
    service = RetentionService(database, AuditLog(database, clock=lambda: LATER), Settings(), "bench-ws", Places(),
                               lambda: LATER, batch)
    began = time.perf_counter()
    plan = {d.kind.value: d.count for d in service.plan(signer=signer)}
    emit(figure="retention_plan_s", backend=backend, value=round(time.perf_counter() - began, 3), unit="s",
         audit_due=plan["audit_trail"], calls_due=plan["outreach_calls"])
    began = time.perf_counter()
    report = service.run(ADMIN, signer)
    took = time.perf_counter() - began
    purged = report.counts.get("audit_trail", 0) + report.counts.get("outreach_calls", 0)
    emit(figure="retention_run_s", backend=backend, value=round(took, 3), unit="s", batch=batch,
         audit_purged=report.counts.get("audit_trail", 0), calls_purged=report.counts.get("outreach_calls", 0))
    emit(figure="retention_rows_per_s", backend=backend, value=round(purged / took), unit="rows/s", batch=batch)
    began = time.perf_counter()
    result = AuditLog(database).verify()
    emit(figure="verify_after_purge_s", backend=backend, value=round(time.perf_counter() - began, 3), unit="s",
         ok=result.ok, checked=result.checked)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="a brief run (2,000 events, 500 calls): figures not "
                                                              "comparable")
    args = parser.parse_args()
    if args.quick:
        args.events, args.calls = min(args.events, 2_000), min(args.calls, 500)
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as folder:
            if backend == "sqlite":
                database, drop = sqlite_database(folder), (lambda: None)
            elif backend == "postgresql":
                database, drop = postgres_database()
            else:
                parser.error(f"unknown backend {backend!r}")
            try:
                bench(database, backend, args.events, args.calls, args.batch, folder)
            finally:
                database.close()
                drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
