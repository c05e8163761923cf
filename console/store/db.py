"""Opening the database: which URL, checks that turn driver errors into sentences, SQLite pragmas, migrations.

`open_database` is the one way in. It never creates a database by accident: only `create=True` (the demo,
first start, `db upgrade`) makes a new SQLite file or runs migrations on an empty database.

Checking the schema does not import Alembic (about a fifth of the console's cold start): the revisions are read from
the migration files' `revision = ...` / `down_revision = ...` lines and the database's from `alembic_version`.
Alembic is imported only when a migration is due (`upgrade`).
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
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

    def close(self) -> None:
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
