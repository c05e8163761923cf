"""A failover with consoles at work, shared by tests/failover/test_failover.py and tests/bench/failover.py.

Consoles (each its own Database on the multi-host URL, AuditLog, local journal and ResilientAudit, as the console
wires them) append audit events in a loop; once each has written `before` events the primary is killed
(`pg_ctl stop -m immediate`) and the standby promoted; the loop goes on until each console has `after` events
stored on the new primary. What happened to every event is then read back from the promoted server by journal id.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

from console.domain.audit import Action, AuditEntry, Detail
from console.services.resilience import ResilientAudit
from console.store.audit import AuditLog
from console.store.db import Database, open_database
from console.store.journal import JOURNAL_ID, AuditJournal, with_journal_id
from tests.support.pg_cluster import Cluster, ReplicaSet


def entry(workstation: str, i: int) -> AuditEntry:
    return AuditEntry(Action.VIEW_START, "dispatcher07", workstation, camera_id=1000 + i, incident_id=7,
                      details={Detail.SESSION_ID: i, Detail.REASON: "failover drill"})


@dataclass
class Console:
    name: str
    database: Database
    sink: ResilientAudit
    sent: list[str] = field(default_factory=list)  # journal ids, in the order appended
    outcomes: Counter = field(default_factory=Counter)
    in_flight: int = 0  # appends under way when the primary died
    errors: list[str] = field(default_factory=list)
    stored_after: int = 0  # appends stored (not journaled) after the promotion
    first_write_after_kill: float | None = None  # monotonic time of the first event stored on the new primary


@dataclass
class Outcome:
    consoles: list[Console]
    killed_at: float
    promoted_at: float
    stored: Counter  # journal id -> how many times it is on the promoted server

    @property
    def sent(self) -> list[str]:
        return [j for c in self.consoles for j in c.sent]

    @property
    def lost(self) -> int:
        return sum(1 for j in self.sent if self.stored[j] == 0)

    @property
    def doubled(self) -> int:
        return sum(1 for j in self.sent if self.stored[j] > 1)

    @property
    def first_write_s(self) -> float:
        """Seconds from the primary's death to the first event written on the new primary (by any console)."""
        return min(c.first_write_after_kill for c in self.consoles) - self.killed_at

    @property
    def promote_s(self) -> float:
        return self.promoted_at - self.killed_at

    @property
    def in_flight(self) -> int:
        return sum(c.in_flight for c in self.consoles)

    @property
    def journaled(self) -> int:
        return sum(c.outcomes["journaled"] for c in self.consoles)


def prepare(rs: ReplicaSet, name: str = "rtic") -> str:
    """A migrated console database on the primary (replicated to its standbys); its multi-host URL."""
    rs.primary.sql(f'CREATE DATABASE "{name}"')
    url = rs.multi_host_url(name)
    open_database(url, create=True).close()
    return url


def fail_over(rs: ReplicaSet, url: str, standby: Cluster, journals: Path, consoles: int = 2, before: int = 20,
              after: int = 20, timeout: float = 120) -> Outcome:
    old = rs.primary
    made = []
    for n in range(consoles):
        database = open_database(url)
        sink = ResilientAudit(AuditLog(database), AuditJournal(journals / f"journal-{n}.db"),
                              ping_interval_s=0.05, max_backoff_s=0.2, heartbeat_s=0.5)
        made.append(Console(f"rtic-ws-{n}", database, sink))
    state = {"killed": None, "dead": None}
    changed = threading.Condition()
    stop = threading.Event()

    def work(console: Console) -> None:
        i = 0
        while not stop.is_set():
            item, journal_id = with_journal_id(entry(console.name, i))
            started_before_kill = state["killed"] is None
            try:
                result = console.sink.append(item)
            except Exception as exc:  # noqa: BLE001 - counted: the test fails on any
                console.errors.append(f"{type(exc).__name__}: {exc}")
                with changed:
                    changed.notify_all()
                return
            finished = time.monotonic()
            console.sent.append(journal_id)
            console.outcomes[result.outcome] += 1
            killed = state["killed"]
            if killed is not None:
                if started_before_kill:
                    console.in_flight += 1
                if result.outcome == "stored" and state["dead"] is not None and \
                        console.first_write_after_kill is None:  # the old primary is gone: on the new one
                    console.first_write_after_kill = finished
                if result.outcome == "stored" and state.get("promoted") is not None:
                    console.stored_after += 1
            i += 1
            with changed:
                changed.notify_all()

    def on_online(console: Console):
        was = {"online": True}

        def callback(connectivity_state) -> None:
            # Back online after the primary died: the flusher wrote the journal into the new primary, a write too.
            if connectivity_state.online and not was["online"] and state["dead"] is not None \
                    and console.first_write_after_kill is None:
                console.first_write_after_kill = time.monotonic()
            was["online"] = connectivity_state.online
        return callback

    for console in made:
        console.sink.connectivity.subscribe(on_online(console))
        console.sink.start()
    threads = [threading.Thread(target=work, args=(c,), name=f"failover-{c.name}", daemon=True) for c in made]
    for thread in threads:
        thread.start()
    try:
        _wait(changed, lambda: all(len(c.sent) >= before for c in made), timeout, "the consoles to write")
        state["killed"] = time.monotonic()
        old.stop("immediate")
        state["dead"] = time.monotonic()  # pg_ctl -w: the server has exited
        standby.promote()
        state["promoted"] = time.monotonic()
        _wait(changed, lambda: all(c.stored_after >= after for c in made) or any(c.errors for c in made), timeout,
              "the consoles to write on the new primary")
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        for console in made:
            console.sink.stop()
    rs.primary = standby
    for console in made:
        console.sink.flush()  # whatever was journaled last goes in now
        console.database.close()
    with open_database(url) as database, database.engine.connect() as conn:
        stored = Counter(json.loads(details).get(JOURNAL_ID) for (details,) in conn.execute(
            text("SELECT details FROM audit_events")))
    outcome = Outcome(made, state["killed"], state["promoted"], stored)
    return outcome


def _wait(condition: threading.Condition, done, timeout: float, what: str) -> None:
    with condition:
        if not condition.wait_for(done, timeout):
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
