"""Benchmark: an owner's panic alert raised at the portal -> the red bar on another console, long poll vs interval.

Run: .venv/bin/python tests/bench/owner_alert_latency.py [--quick] [--samples 20] [--interval 10]
Two consoles on one PostgreSQL registry (a new database on RTIC_TEST_PG_ADMIN_URL's server, dropped afterwards):
the first follows the registry feed from the loopback portal double (tests/support/portal_server.py) with the feed
runner the console starts (console/services/registry_feed); the second is the real signed-in window (offscreen),
which hears the alert through the change feed (LISTEN/NOTIFY) and shows its red bar (console/gui/panels/
panic_alert.py). Each sample waits a random part of the interval, adds a panic_button alert to the portal and
times until the second console's bar shows it; the alert is then cancelled and the bar seen to go.

Modes: `long_poll` (the portal offers long_poll_max_s = 25; the runner waits at the portal) and `interval` (a portal
without the offer, read every --interval seconds; the console's default is 60 s). Figures: one JSON line per mode
with p50/p95/max in seconds. No thresholds (issue 16's target: p95 <= 2 s with the long poll).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("RTIC_CONTACT_KEY", base64.b64encode(os.urandom(32)).decode())
_settings_dir = tempfile.mkdtemp(prefix="rtic-bench-alert-")
os.environ["RTIC_MACHINE_SETTINGS"] = str(Path(_settings_dir) / "machine.toml")
os.environ["RTIC_USER_SETTINGS"] = str(Path(_settings_dir) / "user.toml")

TOKEN = "bench-token-alerts"


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def emit(figure: str, **fields) -> None:
    print(json.dumps({"figure": figure, **fields, "host": platform.node(), "cpus": os.cpu_count()}), flush=True)


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


class PgDatabase:
    """A new PostgreSQL database for the run, dropped at the end."""

    def __enter__(self) -> str:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        from tests.support.backends import PG_ADMIN_URL

        self.name = f"rtic_bench_{uuid.uuid4().hex[:12]}"
        self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return make_url(PG_ADMIN_URL).set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *exc) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def wait_for(app, condition, timeout_s: float) -> bool:
    """Run the Qt event loop until `condition()` or the timeout; whether it came true."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app.processEvents()
        if condition():
            return True
        time.sleep(0.002)
    return False


def run_mode(app, url: str, mode: str, samples: int, interval_s: float, rng: random.Random) -> None:
    from console.app import build_console
    from console.domain.users import Role
    from console.services.registry_feed import FeedHttp, FeedOptions, FeedRunner, RegistryFeed
    from console.settings import load_settings
    from console.store.audit import AuditLog
    from console.store.db import open_database
    from console.store.secrets import ContactCipher, load_contact_key
    from console.video.factory import PlayerFactory
    from tests.gui.conftest import signed_in
    from tests.support.portal_server import PortalServer, alert, camera

    offer = 25 if mode == "long_poll" else 0
    cipher = ContactCipher(load_contact_key())
    with PortalServer(token=TOKEN, long_poll_max_s=offer) as portal:
        portal.add(camera(f"P-{mode}", lat=42.1487, lon=-72.6079))
        feeder_db = open_database(url)  # the first console: follows the feed, as run_console starts it
        runner = FeedRunner(RegistryFeed(feeder_db, AuditLog(feeder_db), cipher,
                                         FeedHttp(portal.base_url, TOKEN, FeedOptions(long_poll_s=offer or 25)),
                                         workstation=f"bench-feed-{mode}"), interval_s=interval_s)
        players = PlayerFactory()
        console = build_console(url, load_settings(), remember_layout=False)
        console.window.resize(1400, 900)
        console.window.show()
        if not wait_for(app, lambda: console.window.map.ready, 60):
            raise SystemExit("the second console's map page did not load")
        with tempfile.TemporaryDirectory() as folder:
            second = signed_in(console, f"bench-{mode}", Role.DISPATCHER, Path(folder), players)
            shown_at: list[float] = []
            second.panic.sig_shown.connect(lambda count: shown_at.append(time.perf_counter()) if count else None)
            runner.start()
            try:
                if not wait_for(app, lambda: runner.last is not None, 30):
                    raise SystemExit("the feed runner did not sync")
                latencies = []
                for n in range(samples):
                    # Raised at a random moment of the cycle, as an owner would.
                    pause = rng.uniform(0.2, interval_s if mode == "interval" else 1.5)
                    wait_for(app, lambda: False, pause)
                    shown_at.clear()
                    now = datetime.now(timezone.utc)
                    alert_id = f"A-{mode}-{n}"
                    raised = time.perf_counter()
                    portal.add(alert(alert_id, f"P-{mode}", iso(now - timedelta(seconds=1)),
                                     iso(now + timedelta(minutes=30))))
                    if not wait_for(app, lambda: bool(shown_at), interval_s * 3 + 30):
                        raise SystemExit(f"{mode}: the alert {alert_id} never reached the second console's bar")
                    latencies.append(shown_at[0] - raised)
                    cancel = datetime.now(timezone.utc)
                    portal.add(alert(alert_id, f"P-{mode}", iso(now - timedelta(seconds=1)),
                                     iso(now + timedelta(minutes=30)), cancelled_at=iso(cancel)))
                    if not wait_for(app, lambda: not second.panic.shown, interval_s * 3 + 30):
                        raise SystemExit(f"{mode}: the cancelled alert {alert_id} stayed on the bar")
                emit("owner_alert_to_bar_s", mode=mode, samples=len(latencies),
                     p50=round(statistics.median(latencies), 3), p95=round(percentile(latencies, 95), 3),
                     max=round(max(latencies), 3), interval_s=interval_s if mode == "interval" else None,
                     long_poll_max_s=offer or None, backend="postgresql", runner_mode=runner.mode)
            finally:
                runner.stop()
                second.close()
                console.close(app)
                players.close()
                feeder_db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few samples, a short interval: a check it works")
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--interval", type=float, default=10.0, help="the interval mode's feed_interval_s")
    parser.add_argument("--modes", default="long_poll,interval")
    args = parser.parse_args(argv)
    samples, interval_s = (3, 2.0) if args.quick else (args.samples, args.interval)

    import tests.gui.conftest  # noqa: F401 - registers the map's URL schemes before the QApplication exists
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    rng = random.Random(16)
    with PgDatabase() as url:
        from console.store.db import open_database

        open_database(url, create=True).close()
        for mode in args.modes.split(","):
            run_mode(app, url, mode.strip(), samples, interval_s, rng)
    return 0


if __name__ == "__main__":
    sys.exit(main())
