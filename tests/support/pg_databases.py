"""PostgreSQL databases for tests, made one ahead: while a test runs, the next test's database is being created.

Creating a database costs the server a few tenths of a second of writing and syncing files (more on a loaded
machine), which the test would otherwise wait for. `DatabaseMaker(admin_url, template)` keeps one database ready,
copied from `template` (None: an empty one); `take()` hands it over (and the next is started), `drop(name)` drops
one. Each maker holds two connections for the whole session (one for its thread, one for drops), opened when it is
made, so the tests' own checks for connections and files left open (tests/support/cli.py) see nothing change.
"""

from __future__ import annotations

import queue
import threading
import uuid

from sqlalchemy import create_engine, text


class DatabaseMaker:
    def __init__(self, admin_url: str, template: str | None = None, prefix: str = "rtic_test"):
        self._template, self._prefix = template, prefix
        self._engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=2,
                                     connect_args={"connect_timeout": 3})
        self._maker_conn = self._engine.connect()
        self._drop_conn = self._engine.connect()
        self._ready: queue.Queue = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{prefix}-database-maker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            name = f"{self._prefix}_{uuid.uuid4().hex[:12]}"
            template = f' TEMPLATE "{self._template}"' if self._template else ""
            try:
                self._maker_conn.execute(text(f'CREATE DATABASE "{name}"{template}'))
                item: object = name
            except Exception as exc:  # handed to the test that takes it: it fails with the server's reason
                item = exc
            while not self._stop.is_set():
                try:
                    self._ready.put(item, timeout=0.5)
                    break
                except queue.Full:
                    continue
            else:
                if isinstance(item, str):
                    self.drop(item)
                return
            if not isinstance(item, str):
                return

    def take(self) -> str:
        """The name of a new database (waits for it when the last one was taken a moment ago)."""
        item = self._ready.get(timeout=300)
        if isinstance(item, BaseException):
            raise item
        return item

    def drop(self, name: str) -> None:
        with _DROPS:
            self._drop_conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        """Stop making databases and drop the one made ahead."""
        self._stop.set()
        self._thread.join(timeout=60)
        while True:
            try:
                item = self._ready.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, str):
                self.drop(item)
        self._maker_conn.close()
        self._drop_conn.close()
        self._engine.dispose()


_DROPS = threading.Lock()  # the maker's thread and the tests both drop through one connection
