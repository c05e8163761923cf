"""PostgreSQL clusters of the tests' own on this machine: a primary and streaming standbys, to fail over between.

Built with the server's own programs (initdb, pg_ctl, pg_basebackup; Debian: /usr/lib/postgresql/15/bin) in a
temporary folder, each on a free port of 127.0.0.1 with trust authentication, and removed at the end. initdb and the
server refuse to run as root: when the tests run as root, the clusters run as the `postgres` user (`runuser`), in a
folder that user owns. A missing program is a failing test (require("postgresql") and `missing_binaries`), never a
skip.

    with ReplicaSet(tmp_path) as rs:          # a primary
        standby = rs.add_standby()            # pg_basebackup -R, streaming, synchronous (see `synchronous`)
        rs.primary.stop("immediate")          # the primary dies
        standby.promote()                     # pg_ctl promote, waits until it accepts writes
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

PG_BIN = Path(os.environ.get("RTIC_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PROGRAMS = ("initdb", "pg_ctl", "pg_basebackup", "postgres")
RUN_AS = "postgres"  # when the tests run as root


def missing_binaries() -> str | None:
    """Why the clusters cannot be made here, or None."""
    missing = [p for p in PROGRAMS if not (PG_BIN / p).is_file()]
    if missing:
        return (f"the PostgreSQL server programs {', '.join(missing)} are not in {PG_BIN} (Debian package "
                "postgresql-15; or set RTIC_TEST_PG_BIN)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "the tests run as root and runuser (util-linux) is missing: the server refuses to run as root"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", RUN_AS, "--", *argv] if os.geteuid() == 0 else argv


def _run(argv: list[str], timeout: float = 120) -> None:
    result = subprocess.run(_as_server_user(argv), capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{Path(argv[0]).name} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


class Cluster:
    """One server: its data folder, port and log; `url(database)` for SQLAlchemy."""

    def __init__(self, root: Path, name: str):
        self.name = name
        self.data = root / name
        self.port = free_port()
        self.log = root / f"{name}.log"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def options(self) -> str:
        # The socket in our own folder (the system's is the main cluster's); fsync on: failover durability is the
        # point of these tests.
        return f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.data.parent}"

    def start(self) -> None:
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", self.options(),
              "-w", "-t", "60", "start"])

    def stop(self, mode: str = "fast") -> None:
        """mode "immediate": the server dies without a checkpoint or goodbye to its clients, as in a crash."""
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"])

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def promote(self) -> None:
        """pg_ctl promote, waiting until the server accepts writes."""
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "promote"])

    def sql(self, statement: str, database: str = "postgres"):
        engine = create_engine(self.url(database), isolation_level="AUTOCOMMIT", poolclass=NullPool,
                               connect_args={"connect_timeout": 5})
        try:
            with engine.connect() as conn:
                result = conn.execute(text(statement))
                return result.all() if result.returns_rows else None
        finally:
            engine.dispose()

    def in_recovery(self) -> bool:
        return bool(self.sql("SELECT pg_is_in_recovery()")[0][0])


class ReplicaSet:
    """A primary (made at once) and the standbys `add_standby` makes from it; all removed by `close()`.

    `synchronous=True`: the primary waits for a standby to flush each commit (synchronous_standby_names = '*',
    synchronous_commit = on), so an acknowledged commit survives the primary's death; set on the primary after the
    standby was copied from it, so a promoted standby does not wait for a standby it does not have."""

    def __init__(self, base: Path | None = None, synchronous: bool = True):
        why = missing_binaries()
        if why:
            raise RuntimeError(why)
        self.root = Path(tempfile.mkdtemp(prefix="rtic-pg-cluster-", dir=base))
        os.chmod(self.root, 0o700)
        if os.geteuid() == 0:
            shutil.chown(self.root, RUN_AS, RUN_AS)
        self.synchronous = synchronous
        self.clusters: list[Cluster] = []
        try:
            self.primary = self._new("primary")
            _run([str(PG_BIN / "initdb"), "-D", str(self.primary.data), "--auth=trust", "-U", "postgres",
                  "--no-instructions", "-E", "UTF8", "--locale=C.UTF-8"])
            with open(self.primary.data / "postgresql.conf", "a", encoding="utf-8") as conf:
                conf.write("\nwal_level = replica\nmax_wal_senders = 10\nhot_standby = on\nwal_keep_size = 256MB\n"
                           "fsync = on\nsynchronous_commit = on\n")
            hba = self.primary.data / "pg_hba.conf"
            hba.write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n"
                           "host replication all 127.0.0.1/32 trust\n", encoding="utf-8")
            if os.geteuid() == 0:
                shutil.chown(hba, RUN_AS, RUN_AS)
            self.primary.start()
        except BaseException:
            self.close()
            raise

    def _new(self, name: str) -> Cluster:
        cluster = Cluster(self.root, name)
        self.clusters.append(cluster)
        return cluster

    def add_standby(self, source: Cluster | None = None, name: str | None = None) -> Cluster:
        """A streaming standby of `source` (default the primary), started and replaying."""
        source = source or self.primary
        standby = self._new(name or f"standby{len(self.clusters) - 1}")
        _run([str(PG_BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(source.port), "-U", "postgres",
              "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast"])
        # The copy takes the source's settings: a standby never waits for standbys of its own until told to.
        with open(standby.data / "postgresql.auto.conf", "a", encoding="utf-8") as conf:
            conf.write(f"\nsynchronous_standby_names = ''\nprimary_conninfo = 'host=127.0.0.1 port={source.port} "
                       f"user=postgres application_name={standby.name}'\n")
        standby.start()
        self.wait_streaming(source, standby)
        if self.synchronous:
            source.sql("ALTER SYSTEM SET synchronous_standby_names = '*'")
            source.sql("SELECT pg_reload_conf()")
            self.wait_streaming(source, standby, state="sync")
        return standby

    def wait_streaming(self, source: Cluster, standby: Cluster, state: str | None = None,
                       timeout: float = 60) -> None:
        """Until `source` reports `standby` streaming (and with `state`, in that sync_state)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = source.sql("SELECT application_name, state, sync_state FROM pg_stat_replication")
            if any(r[0] == standby.name and r[1] == "streaming" and (state is None or r[2] == state) for r in rows):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{standby.name} is not streaming from {source.name} after {timeout:g} s: {rows}")
            time.sleep(0.1)

    def wait_replayed(self, standby: Cluster, timeout: float = 60) -> None:
        """Until `standby` has replayed everything the primary has written so far (synchronous_commit = on waits
        for the standby to FLUSH a commit, which survives a failover, not to replay it: reads there may lag)."""
        [(lsn,)] = self.primary.sql("SELECT pg_current_wal_lsn()::text")
        deadline = time.monotonic() + timeout
        while not standby.sql(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn")[0][0]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{standby.name} has not replayed up to {lsn} after {timeout:g} s")
            time.sleep(0.05)

    def multi_host_url(self, database: str, clusters: list[Cluster] | None = None,
                       attrs: str = "read-write") -> str:
        """The libpq multi-host form the console accepts: postgresql+psycopg://postgres@a:p1,b:p2/db?..."""
        hosts = ",".join(c.host for c in (clusters or self.clusters))
        return f"postgresql+psycopg://postgres@{hosts}/{database}?target_session_attrs={attrs}"

    def close(self) -> None:
        for cluster in reversed(self.clusters):
            if cluster.running():
                try:
                    cluster.stop("immediate")
                except Exception:  # noqa: BLE001 - removing the folder is what matters now
                    pass
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "ReplicaSet":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
