"""Benchmark: a PostgreSQL failover with consoles writing audit events (tests/failover/scenario.py).

Run: .venv/bin/python tests/bench/failover.py [--quick] [--consoles 2] [--before 50] [--after 50] [--rounds 3]
Makes a primary and a synchronous streaming standby of its own (tests/support/pg_cluster.py; as root the servers
run as the postgres user), kills the primary (pg_ctl stop -m immediate), promotes the standby (pg_ctl promote) and
prints one JSON line per round: seconds from the primary's death to the first event written on the new primary
(by a console's append or its journal flusher), how long the promotion itself took, events in flight at the kill,
events journaled during the outage, lost (must be 0) and doubled (must be 0). No thresholds.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("RTIC_CONTACT_KEY", base64.b64encode(os.urandom(32)).decode())

from console.store.audit import AuditLog  # noqa: E402
from console.store.db import open_database  # noqa: E402
from tests.failover.scenario import fail_over, prepare  # noqa: E402
from tests.support.pg_cluster import ReplicaSet  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round, fewer events")
    parser.add_argument("--consoles", type=int, default=2)
    parser.add_argument("--before", type=int, default=50)
    parser.add_argument("--after", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rounds, before, after = (1, 15, 15) if args.quick else (args.rounds, args.before, args.after)
    for n in range(rounds):
        with ReplicaSet() as rs, tempfile.TemporaryDirectory() as journals:
            standby = rs.add_standby()
            url = prepare(rs)
            outcome = fail_over(rs, url, standby, Path(journals), consoles=args.consoles, before=before,
                                after=after)
            with open_database(standby.url("rtic")) as promoted:
                verified = AuditLog(promoted).verify().ok
            print(json.dumps({
                "figure": "failover", "round": n + 1, "consoles": args.consoles,
                "replication": "synchronous (synchronous_standby_names='*', synchronous_commit=on)",
                "death_to_first_write_s": round(outcome.first_write_s, 3),
                "promote_s": round(outcome.promote_s, 3),
                "events": len(outcome.sent), "in_flight": outcome.in_flight, "journaled": outcome.journaled,
                "lost": outcome.lost, "doubled": outcome.doubled, "chain_verifies": verified,
                "errors": sum(len(c.errors) for c in outcome.consoles),
                "host": platform.node(), "load_avg_1m": os.getloadavg()[0]}), flush=True)


if __name__ == "__main__":
    main()
