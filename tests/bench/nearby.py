"""Benchmark: the nearby query at 10k, 100k and 1M cameras on SQLite and PostgreSQL, against a full scan.

Run: .venv/bin/python tests/bench/nearby.py [--sizes 10000,100000,1000000] [--backends sqlite,postgresql] [--keep]
With --keep the registries are kept (SQLite under $TMPDIR/rtic_bench, PostgreSQL databases rtic_bench_nearby_N)
and reused by the next run with --keep: a 1M registry takes about 100 s to build per backend.
Prints one JSON line per backend, size and radius: p50/p99 of the index-backed query through the same API the
console uses (RegistryService.nearby), and of a full-scan haversine baseline, with the speedup.
Targets (issue 3): p99 <= 5 ms at 1M cameras for a 500 m radius on both backends, and >= 100x the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import create_engine, text  # noqa: E402

from console.services.demo import generate_demo  # noqa: E402
from console.services.demo_town import CAMERAS_PER_KM2, CENTRE, offset  # noqa: E402
from console.services.registry import RegistryService  # noqa: E402
from console.store.db import open_database  # noqa: E402
from console.store.secrets import ContactCipher  # noqa: E402
from console.store.spatial import scan_cameras  # noqa: E402

PG_ADMIN = os.environ.get("RTIC_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres")
RADII = (250.0, 500.0, 2000.0)
QUERIES = 400


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def centres(size: int, count: int, rng: random.Random):
    half = 1000.0 * (max(size / CAMERAS_PER_KM2, 1.0) ** 0.5) / 2
    return [offset(CENTRE, rng.uniform(-half, half), rng.uniform(-half, half)) for _ in range(count)]


def measure(size: int, backend: str, url: str, reuse: bool = False) -> None:
    database = open_database(url, create=True)
    started = time.perf_counter()
    if not reuse:
        generate_demo(database, ContactCipher(os.urandom(32)), cameras=size, seed=1)
    build_s = time.perf_counter() - started
    if backend == "postgresql" and not reuse:
        with database.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    registry = RegistryService(database)
    rng = random.Random(size)
    for radius in RADII:
        points = centres(size, QUERIES, rng)
        for lat, lon in points[:20]:  # warm caches, as a running console has them
            registry.nearby(lat, lon, radius)
        times, found = [], []
        for lat, lon in points:
            t0 = time.perf_counter()
            result = registry.nearby(lat, lon, radius)
            times.append((time.perf_counter() - t0) * 1000)
            found.append(len(result))
        base_n = 5 if size >= 1_000_000 else 20
        base = []
        with database.engine.connect() as conn:
            for lat, lon in points[:base_n]:
                t0 = time.perf_counter()
                scan_cameras(conn, lat, lon, radius)
                base.append((time.perf_counter() - t0) * 1000)
        p50, p99, b50 = percentile(times, 50), percentile(times, 99), percentile(base, 50)
        print(json.dumps({
            "figure": "nearby_query", "backend": backend, "cameras": size, "radius_m": radius,
            "p50_ms": round(p50, 3), "p99_ms": round(p99, 3), "mean_found": round(statistics.mean(found), 1),
            "baseline_p50_ms": round(b50, 1), "speedup_p50": round(b50 / p50, 1),
            "build_s": None if reuse else round(build_s, 1), "load_1m": round(os.getloadavg()[0], 2), "queries": len(times), "machine": machine(),
        }), flush=True)
    database.close()


def machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--keep", action="store_true", help="keep the registries built and reuse kept ones")
    parser.add_argument("--quick", action="store_true",
                        help="a brief run that checks the benchmark still works (sizes=2,000, no --keep); figures are not comparable")
    args = parser.parse_args()
    if args.quick:
        global QUERIES
        args.sizes, args.keep, QUERIES = "2000", False, 40
    for size in (int(s) for s in args.sizes.split(",")):
        for backend in args.backends.split(","):
            if args.keep:
                measure_kept(size, backend)
            elif backend == "sqlite":
                with tempfile.TemporaryDirectory() as folder:
                    measure(size, backend, f"sqlite:///{folder}/bench.db")
            else:
                name = f"rtic_bench_{uuid.uuid4().hex[:8]}"
                admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                try:
                    measure(size, backend, PG_ADMIN.rsplit("/", 1)[0] + "/" + name)
                finally:
                    with admin.connect() as conn:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    admin.dispose()


def measure_kept(size: int, backend: str) -> None:
    """The registry of this size kept between runs: built on the first run, reused (and never dropped) after."""
    if backend == "sqlite":
        folder = Path(tempfile.gettempdir()) / "rtic_bench"
        folder.mkdir(exist_ok=True)
        path = folder / f"nearby_{size}.db"
        reuse = path.exists()
        if not reuse:
            for stale in folder.glob(f"nearby_{size}.db*"):
                stale.unlink()
        measure(size, backend, f"sqlite:///{path}", reuse)
        return
    name = f"rtic_bench_nearby_{size}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        reuse = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is not None
        if not reuse:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    measure(size, backend, PG_ADMIN.rsplit("/", 1)[0] + "/" + name, reuse)


if __name__ == "__main__":
    main()
