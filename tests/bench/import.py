"""Benchmark: `import` of a 100k-row portal export (CSV, ~3 cameras per owner) into a fresh SQLite and PostgreSQL.

Run: .venv/bin/python tests/bench/import.py [--rows 100000] [--backends sqlite,postgresql]
Prints one JSON line per backend and run: the first import (everything new) and the same file again (everything
unchanged, the idempotent path), each through `import_file` as the CLI calls it. Target (issue 7): < 30 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import create_engine, text  # noqa: E402

from console.domain.portal_records import FIELDS  # noqa: E402
from console.services.demo_town import BUSINESS_KINDS, CENTRE, FIRST_NAMES, LAST_NAMES, offset  # noqa: E402
from console.services.registry_import import import_file  # noqa: E402
from console.store.db import open_database  # noqa: E402
from console.store.secrets import ContactCipher  # noqa: E402

PG_ADMIN = os.environ.get("RTIC_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres")
_PLACES = ("Front door", "Driveway", "Porch", "Back yard", "Entrance", "Parking lot", "Register")


def write_export(path: Path, rows: int, seed: int = 7) -> None:
    """A portal export of `rows` cameras: owners with 1 to 5 cameras (3 on average) at one address each."""
    rng = random.Random(seed)
    side_m = 1000.0 * (rows / 400) ** 0.5  # ~400 cameras per km², as the demo town
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        done, owner = 0, 0
        while done < rows:
            owner += 1
            count = min(rng.choice((1, 2, 3, 3, 4, 5)), rows - done)
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            business = rng.random() < 0.3
            lat, lon = offset(CENTRE, rng.uniform(-side_m / 2, side_m / 2), rng.uniform(-side_m / 2, side_m / 2))
            address = f"{rng.randrange(1, 2000)} {last} St #{owner}, Chicopee, MA 01013"
            live = rng.random() < 0.3
            mode = rng.choice(("always", "on_alert", "never")) if live else "never"
            for n in range(count):
                done += 1
                clat, clon = offset((lat, lon), rng.uniform(-6, 6), rng.uniform(-6, 6))
                url = f"rtsp://viewer:pw{owner}@gw-{owner}.example.net:554/cam{n + 1}" if live else ""
                writer.writerow([
                    f"P-{done:07d}", f"{first} {last}", f"{last}'s {rng.choice(BUSINESS_KINDS)}" if business else "",
                    f"413-{owner // 10000 % 1000:03d}-{owner % 10000:04d}", f"{first}.{last}{owner}@example.com".lower(),
                    address, f"{clat:.6f}", f"{clon:.6f}", _PLACES[n % len(_PLACES)], "live" if live else "registered",
                    mode, url, f"{rng.uniform(0, 360):.1f}", rng.choice(("60", "90", "110")), rng.choice(("15", "30")),
                    f"2025-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}", rng.choice(("web", "phone")),
                ])


def measure(backend: str, url: str, export: Path, rows: int) -> None:
    database = open_database(url, create=True)
    cipher = ContactCipher(os.urandom(32))
    try:
        for run in ("first", "again"):
            started = time.perf_counter()
            summary = import_file(database, cipher, export, username="bench", workstation="bench")
            seconds = time.perf_counter() - started
            print(json.dumps({
                "bench": "import", "backend": backend, "rows": rows, "run": run, "seconds": round(seconds, 2),
                "rows_per_s": round(rows / seconds), "added": summary["added"], "unchanged": summary["unchanged"],
                "owners_added": summary["owners_added"], "sites_added": summary["sites_added"],
                "target_s": 30, "machine": machine(),
            }), flush=True)
    finally:
        database.close()


def machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true",
                        help="a brief run that checks the benchmark still works (rows=2,000); figures are not comparable")
    args = parser.parse_args()
    if args.quick:
        args.rows = min(args.rows, 2_000)
    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "portal-export.csv"
        write_export(export, args.rows)
        for backend in args.backends.split(","):
            if backend == "sqlite":
                measure(backend, f"sqlite:///{folder}/bench.db", export, args.rows)
                continue
            name = f"rtic_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                measure(backend, PG_ADMIN.rsplit("/", 1)[0] + "/" + name, export, args.rows)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
