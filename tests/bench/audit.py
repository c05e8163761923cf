"""Benchmark: audit append latency (durably committed) and chain verification speed, on SQLite and PostgreSQL.

Run: .venv/bin/python tests/bench/audit.py [--appends 2000] [--events 200000] [--backends sqlite,postgresql]
Prints one JSON line per figure. Targets (issue 4): append p99 <= 5 ms on SQLite (PostgreSQL measured too);
verify >= 200,000 events/s. Appends go through AuditLog.append exactly as the console calls it: each one
its own transaction, committed with SQLite synchronous=FULL / PostgreSQL synchronous_commit=on.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("RTIC_CONTACT_KEY", base64.b64encode(os.urandom(32)).decode())

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from console.domain.audit import GENESIS_HASH, Action, AuditEntry, ChainWalker, Detail, event_hash  # noqa: E402
from console.store.audit import _COLUMNS, AuditLog, _batches, events  # noqa: E402
from console.store.db import open_database  # noqa: E402

PG_ADMIN = os.environ.get("RTIC_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def emit(**figure):
    figure.setdefault("host", platform.node())
    print(json.dumps(figure), flush=True)


def typical_entry(i: int) -> AuditEntry:
    return AuditEntry(Action.VIEW_START, "dispatcher07", "rtic-ws-03", camera_id=1000 + i % 5000, incident_id=i % 300,
                      details={Detail.SESSION_ID: i, Detail.STREAM_ID: i % 9000, Detail.CAD_NUMBER: f"C26-{i:06d}",
                               Detail.REASON: "armed robbery in progress, suspect vehicle heading north",
                               Detail.RULE: "always"})


def bench_append(database, backend: str, appends: int) -> None:
    log = AuditLog(database)
    for i in range(20):  # warm the pool and caches
        log.append(typical_entry(i))
    latencies = []
    for i in range(appends):
        start = time.perf_counter()
        log.append(typical_entry(i))
        latencies.append((time.perf_counter() - start) * 1000)
    emit(figure="audit_append_ms", backend=backend, n=appends, p50=round(statistics.median(latencies), 3),
         p99=round(percentile(latencies, 99), 3), max=round(max(latencies), 3),
         target_p99_ms=5.0 if backend == "sqlite" else None,
         meets_target=(percentile(latencies, 99) <= 5.0) if backend == "sqlite" else None,
         load_avg_1m=os.getloadavg()[0])


def fill(database, count: int) -> None:
    """Write a valid chain of `count` events in bulk (the append path would take minutes)."""
    prev, rows, batch = GENESIS_HASH, [], 20_000
    details = json.dumps(typical_entry(0).details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for seq in range(1, count + 1):
        at = f"2026-11-{1 + seq % 28:02d}T12:00:00.{seq % 1000:03d}Z"
        digest = event_hash(seq, at, "dispatcher07", "rtic-ws-03", Action.VIEW_START, "ok", seq % 5000, seq % 300,
                            details, prev)
        rows.append(dict(seq=seq, occurred_at=at, username="dispatcher07", workstation="rtic-ws-03",
                         action=Action.VIEW_START, outcome="ok", camera_id=seq % 5000, incident_id=seq % 300,
                         details=details, prev_hash=prev, hash=digest))
        prev = digest
        if len(rows) == batch or seq == count:
            with database.engine.begin() as conn:
                conn.execute(events.insert(), rows)
            rows = []


def bench_verify(database, backend: str, count: int) -> None:
    fill(database, count)
    log = AuditLog(database)
    runs, cpu = [], []
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = log.verify()
        runs.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        assert result.ok and result.checked == count, result
    best, median = min(runs), statistics.median(runs)
    # per_cpu_s: events per second of this process's CPU time, the rate on an otherwise idle core.
    emit(figure="audit_verify_events_per_s", backend=backend, events=count, best=round(count / best),
         median=round(count / median), per_cpu_s=round(count / statistics.median(cpu)), target=200_000,
         meets_target=count / median >= 200_000, load_avg_1m=os.getloadavg()[0], cores=os.cpu_count())
    # Where the time goes: reading rows through the driver vs checking them (hash + links) in Python.
    with database.engine.connect() as conn:
        start_cpu = time.process_time()
        rows = [row for batch in _batches(conn, _COLUMNS, 20_000) for row in batch]
        fetch_cpu = time.process_time() - start_cpu
    walker = ChainWalker()
    start_cpu = time.process_time()
    walker.feed(rows)
    check_cpu = time.process_time() - start_cpu
    assert walker.result().ok
    emit(figure="audit_verify_breakdown_per_cpu_s", backend=backend, events=count,
         fetch_rows=round(count / fetch_cpu), check_events=round(count / check_cpu))


def bench_fsync_floor(folder: str, n: int = 300) -> None:
    """What the disk alone costs: write + fdatasync of one small block, the floor of any durable commit."""
    path = Path(folder) / "fsync.probe"
    latencies = []
    with open(path, "wb", buffering=0) as probe:
        for _ in range(n):
            start = time.perf_counter()
            probe.write(b"x" * 256)
            os.fdatasync(probe.fileno())
            latencies.append((time.perf_counter() - start) * 1000)
    emit(figure="disk_fdatasync_ms", n=n, p50=round(statistics.median(latencies), 3),
         p99=round(percentile(latencies, 99), 3), load_avg_1m=os.getloadavg()[0])


def sqlite_database(folder: str):
    return open_database(f"sqlite:///{folder}/audit-bench.db", create=True)


def postgres_database():
    name = f"rtic_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return open_database(url, create=True), drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true",
                        help="a brief run that checks the benchmark still works (appends=100, events=5_000); figures are not comparable")
    args = parser.parse_args()
    if args.quick:
        args.appends, args.events = min(args.appends, 100), min(args.events, 5_000)
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                bench_fsync_floor(folder)
                for bench, size in ((bench_append, args.appends), (bench_verify, args.events)):
                    with tempfile.TemporaryDirectory(dir=folder) as sub:
                        database = sqlite_database(sub)
                        try:
                            bench(database, backend, size)
                        finally:
                            database.close()
        elif backend == "postgresql":
            for bench, size in ((bench_append, args.appends), (bench_verify, args.events)):
                database, drop = postgres_database()
                try:
                    bench(database, backend, size)
                finally:
                    database.close()
                    drop()
        else:
            parser.error(f"unknown backend {backend!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
