"""Opening the database: which URL, checks that turn driver errors into sentences, SQLite pragmas, migrations.

`open_database` is the one way in. It never creates a database by accident: only `create=True` (the demo,
first start, `db upgrade`) makes a new SQLite file or runs migrations on an empty database.

Checking the schema does not import Alembic (about a fifth of the console's cold start): the revisions are read from
the migration files' `revision = ...` / `down_revision = ...` lines and the database's from `alembic_version`.
Alembic is imported only when a migration is due (`upgrade`).
"""

from __future__ import annotations

import ast
import logging
import os
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)

from console.domain.redaction import redact
from console.errors import DatabaseUnreachable, StoreUnavailable, UserError, first_line
from console.paths import user_data_dir

log = logging.getLogger(__name__)

ENV_URL = "RTIC_DATABASE_URL"
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_URL_HELP = "use sqlite:///PATH/TO/FILE.db or postgresql+psycopg://USER@HOST:PORT/DATABASE"


def default_sqlite_path() -> Path:
    return user_data_dir() / "registry.db"


def resolve_url(url: str | None = None) -> str:
    """The database URL in force: the one given, else RTIC_DATABASE_URL, else the user's SQLite file."""
    return url or os.environ.get(ENV_URL) or f"sqlite:///{default_sqlite_path()}"


_MULTI_HOST = re.compile(r"^(?P<scheme>postgresql(?:\+\w+)?://)(?P<auth>[^@/?]*@)?(?P<hosts>[^/?@]*,[^/?@]*)"
                         r"(?P<path>/[^?]*)?(?:\?(?P<query>.*))?$")


def multi_host(url: str) -> str:
    """libpq's multi-host form (`postgresql+psycopg://u@a:5432,b:5433/rtic?target_session_attrs=read-write`, which
    SQLAlchemy cannot parse) in SQLAlchemy's (`postgresql+psycopg://u@/rtic?host=a:5432&host=b:5433&...`); any
    other URL unchanged. libpq then tries the hosts in order on every new connection, and with
    target_session_attrs=read-write takes the one that accepts writes: after a failover, the promoted standby."""
    found = _MULTI_HOST.match(url)
    if found is None:
        return url
    hosts = [h.strip() for h in found["hosts"].split(",")]
    if not all(hosts) or len(hosts) > 16:
        raise UserError(f"unreadable list of database servers {found['hosts'][:200]!r}: {_URL_HELP}")
    query = "&".join([*(f"host={h}" for h in hosts), *([found["query"]] if found["query"] else [])])
    return f"{found['scheme']}{found['auth'] or ''}{found['path'] or '/'}?{query}"


def describe_url(url: str) -> str:
    """The URL as it may be shown or logged: never with its password."""
    try:
        return redact(make_url(multi_host(url)).render_as_string(hide_password=True))
    except (ArgumentError, UserError, ValueError):
        return "<unreadable database URL>"


@dataclass
class Database:
    engine: Engine
    url: str
    # How long an audit write may wait (its locks, a commit waiting for a synchronous standby) before it is given up
    # and the event journaled locally (setting db_write_timeout_s; SET LOCAL statement_timeout in the append).
    write_timeout_s: float = 10.0
    # A read-only standby for searches and map reads (use_standby), and the replay lag beyond which it is not used.
    standby: "Database | None" = None
    standby_max_lag_s: float = 5.0
    lag_check_s: float = 3.0  # how long one replay-lag reading is trusted
    _lag: tuple[float, float | None, str] | None = field(default=None, repr=False)  # (when, lag, why not used)
    _lag_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def display_url(self) -> str:
        return describe_url(self.url)

    @cached_property
    def reader(self) -> Engine:
        """The same pool for read-only work in autocommit: no BEGIN/ROLLBACK round trips around each search."""
        return self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def search_reader(self) -> Engine:
        """Where searches and map reads go: the standby's reader when one is set and its replay lag (read at most
        every lag_check_s) is within standby_max_lag_s, else this database's (the primary). Never for writes, the
        audit trail, access decisions or change numbers: those read `reader` / `engine`."""
        standby = self.standby
        if standby is None:
            return self.reader
        return standby.reader if not self._standby_refusal() else self.reader

    def reads_from(self) -> str:
        """For the status bar: "reads: standby", "reads: primary (standby lagging 12 s)", or "" without a standby."""
        if self.standby is None:
            return ""
        why = self._standby_refusal()
        return f"reads: primary ({why})" if why else "reads: standby"

    def _standby_refusal(self) -> str:
        """Why the standby is not used now ("" when it is); its lag read again once the last reading is old."""
        standby = self.standby
        with self._lag_lock:
            now = time.monotonic()
            if self._lag is not None and now - self._lag[0] < self.lag_check_s:
                return self._lag[2]
            try:
                lag = standby.replay_lag()
                why = "" if lag is None or lag <= self.standby_max_lag_s else f"standby lagging {lag:.0f} s"
            except SQLAlchemyError as exc:
                lag, why = None, f"standby not answering: {first_line(exc)[:120]}"
            before = self._lag[2] if self._lag is not None else ""
            if why != before:
                if why:
                    log.warning("reads go to the primary: %s", why)
                else:
                    log.info("reads go to the standby %s again", standby.display_url)
            self._lag = (now, lag, why)
            return why

    def close(self) -> None:
        if self.standby is not None:
            self.standby.close()
        self.engine.dispose()

    def server(self) -> str:
        """The server this console is on now, for the status bar: `host:port` on PostgreSQL (one of a multi-host
        URL's, after a failover the promoted one), the file on SQLite. Raises the driver's error when away."""
        if self.dialect != "postgresql":
            return self.engine.url.database or ":memory:"
        with self.engine.connect() as conn:
            host, port = conn.execute(text("SELECT inet_server_addr()::text, inet_server_port()")).one()
        return f"{(host or 'local socket').split('/')[0]}:{port}" if port else (host or "local socket")

    def replay_lag(self) -> float | None:
        """On a PostgreSQL standby (a `target_session_attrs=prefer-standby` URL may land on one): how many seconds
        behind its primary the data it serves is (0.0 when it has replayed all it received); None on a primary or
        SQLite. The building block for refusing stale reads from a lagging standby."""
        if self.dialect != "postgresql":
            return None
        with self.engine.connect() as conn:
            standby, lag = conn.execute(text(
                "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
                "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END")).one()
        return max(0.0, float(lag or 0.0)) if standby else None

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_database(url: str | None = None, *, create: bool = False) -> Database:
    """Open (and with `create`, create and migrate) the database at `url`; raise UserError with a clear reason."""
    db = connect_database(url, create=create)
    try:
        _check_schema(db, create=create)
    except BaseException:
        db.engine.dispose()
        raise
    return db


SYNC_WAIT_CANCELLED = "canceling wait for synchronous replication"  # the server's WARNING (lc_messages C/English)


@contextmanager
def write_deadline(conn, seconds: float):
    """Bound a PostgreSQL write and its commit on `conn` (a SQLAlchemy Connection): after `seconds` the statement
    under way is cancelled (libpq's cancel request: statement_timeout does not stop a COMMIT waiting for a missing
    synchronous standby). Yields a list that receives the server's warnings: a COMMIT whose wait for the standby
    was cancelled succeeds with a WARNING (committed on the primary, not known to be on a standby), and a caller
    that must know "durable" looks for it (`sync_wait_cancelled`). A cancelled statement raises the driver's
    QueryCanceled (an OperationalError: the database counts as away). No-op on SQLite."""
    warnings: list = []
    if conn.dialect.name != "postgresql" or not seconds or seconds <= 0:
        yield warnings
        return
    raw = conn.connection.dbapi_connection
    lock = threading.Lock()
    state = {"done": False}

    def cancel() -> None:
        with lock:
            if not state["done"]:
                try:
                    raw.cancel_safe(timeout=5)
                except Exception:  # noqa: BLE001 - the write goes on waiting; nothing else to do here
                    log.warning("could not cancel a database write after %g s", seconds)

    def notice(diagnostic) -> None:
        if diagnostic.severity_nonlocalized == "WARNING":
            warnings.append(diagnostic.message_primary or "")

    raw.add_notice_handler(notice)
    timer = threading.Timer(seconds, cancel)
    timer.daemon = True
    timer.start()
    try:
        yield warnings
    finally:
        with lock:
            state["done"] = True
        timer.cancel()
        raw.remove_notice_handler(notice)


def sync_wait_cancelled(warnings: list) -> bool:
    return any(SYNC_WAIT_CANCELLED in (w or "") for w in warnings)


def use_standby(database: Database, read_url: str | None, max_lag_s: float = 5.0) -> Database:
    """Send `database`'s searches and map reads to the read-only server at `read_url` (a standby's address, or a
    multi-host URL with target_session_attrs=prefer-standby; settings read_database_url, standby_max_lag_s);
    nothing changes without one, or on SQLite. The standby's schema is not checked: it is the primary's copy."""
    if not read_url or database.dialect != "postgresql":
        return database
    standby = connect_database(read_url)
    if standby.dialect != "postgresql":
        standby.close()
        raise UserError(f"the read database {standby.display_url} must be a PostgreSQL standby of the registry")
    database.standby, database.standby_max_lag_s, database._lag = standby, max_lag_s, None
    return database


def connect_database(url: str | None = None, *, create: bool = False) -> Database:
    """The database at `url` WITHOUT connecting or checking its schema (open_database does both): for the audit
    log of a console started in field mode, whose journal flusher reaches the database when it answers again."""
    url = resolve_url(url)
    shown = describe_url(url)
    try:
        parsed = make_url(multi_host(url))
    except (ArgumentError, ValueError):
        raise UserError(f"unknown database URL {redact(url)!r}: {_URL_HELP}") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise UserError(f"unsupported database {shown!r}: {_URL_HELP}")
    if backend == "sqlite":
        engine = _sqlite_engine(parsed, create=create)
    else:
        try:
            engine = create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 5})
        except (NoSuchModuleError, ArgumentError) as exc:
            raise UserError(f"unknown database URL {shown!r} ({exc}): {_URL_HELP}") from None
    return Database(engine=engine, url=url)


def _sqlite_engine(parsed, *, create: bool) -> Engine:
    path = parsed.database
    if path and path != ":memory:":
        file = Path(path)
        if not file.exists():
            if not create:
                raise StoreUnavailable(
                    f"no database at {file}: run `rtic-console demo --db sqlite:///{file}` to create a demo registry"
                )
            if not file.parent.is_dir():
                raise UserError(f"cannot create the database {file}: the folder {file.parent} does not exist")
    try:
        engine = create_engine(parsed, connect_args={"timeout": 30})
    except (NoSuchModuleError, ArgumentError) as exc:
        raise UserError(f"unknown database URL ({exc}): {_URL_HELP}") from None
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed audit event survives power loss (NORMAL in WAL mode may lose the last commits).
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Searches of a million-camera registry touch scattered pages: a 64 MB cache and memory-mapped reads keep
    # them in memory (SQLite's default cache is 2 MB).
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.close()


_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.MULTILINE)


@cache
def _revisions() -> dict[str, str | None]:
    """Each migration's revision and the one it follows, as the files in migrations/versions declare them."""
    revisions: dict[str, str | None] = {}
    for file in sorted((_MIGRATIONS / "versions").glob("*.py")):
        found = dict(_REVISION_LINE.findall(file.read_text(encoding="utf-8")))
        if "revision" not in found:
            continue
        revision, down = (_literal(found["revision"], file), _literal(found.get("down_revision", "None"), file))
        if not isinstance(revision, str) or not (down is None or isinstance(down, str)):
            raise RuntimeError(f"{file.name}: expected one string revision and one down_revision (no merges)")
        revisions[revision] = down
    return revisions


def _literal(source: str, file: Path):
    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError):
        raise RuntimeError(f"{file.name}: cannot read the revision line {source!r}") from None


def head_revision() -> str:
    """The newest migration: the one no other migration follows."""
    revisions = _revisions()
    heads = set(revisions) - set(revisions.values())
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads ({', '.join(sorted(heads))}), not one")
    return heads.pop()


def _current_revision(conn, table_names: list[str]) -> str | None:
    if "alembic_version" not in table_names:
        return None
    versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(versions) > 1:
        raise UserError(f"the database has {len(versions)} schema versions ({', '.join(versions)}): it was "
                        "migrated by something other than this console")
    return versions[0] if versions else None


def current_revision(db: Database) -> str | None:
    """The database's schema revision, None when it has none."""
    with db.engine.connect() as conn:
        return _current_revision(conn, inspect(conn).get_table_names())


def upgrade(db: Database) -> None:
    """Apply every migration the database lacks."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["engine"] = db.engine
    command.upgrade(config, "head")


def _check_schema(db: Database, *, create: bool) -> None:
    try:
        with db.engine.connect() as conn:
            table_names = inspect(conn).get_table_names()
            revision = _current_revision(conn, table_names)
        has_tables = bool(table_names)
    except OperationalError as exc:
        # PostgreSQL: an OperationalError on connecting is the server or the network not answering (or refusing).
        unreachable = DatabaseUnreachable if db.dialect == "postgresql" else StoreUnavailable
        raise unreachable(f"cannot open the database {db.display_url}: {first_line(exc)}") from None
    except SQLAlchemyError as exc:
        raise StoreUnavailable(f"cannot use the database {db.display_url}: {first_line(exc)}") from None
    if revision is not None and revision not in _revisions():
        raise UserError(
            f"the database {db.display_url} has a newer schema ({revision}) than this console knows: "
            "install the newer console version"
        )
    if revision == head_revision():
        return
    if create or (revision is not None and db.dialect == "sqlite"):
        # A new database, or a single-user SQLite file from an older version: bring it up to date.
        if revision is None and has_tables:
            raise UserError(f"the database {db.display_url} holds tables that are not a console registry")
        upgrade(db)
        return
    if revision is None:
        raise StoreUnavailable(
            f"the database {db.display_url} has no registry yet: run `rtic-console demo` or `rtic-console db upgrade`"
        )
    raise UserError(f"the database {db.display_url} needs an upgrade: run `rtic-console db upgrade`")
