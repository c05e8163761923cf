"""Field laptop mode: an encrypted local copy of the registry subset a user's role may see, for when there is no
network. The nearby search, the offline live-view decision and the map work on it as on the real registry.

The copy is a complete console registry (made by the migrations, so the R*Tree is there) holding the cameras,
sites, streams, grants in force or recent, the open incidents, and the one account the copy is made for (for the
offline sign-in: console/services/field_login.py). Stream credentials are copied only for roles
that may view live, owner contacts only for roles that may reveal them; both stay encrypted with the contact key
as in the database. The SQLite database is serialised and sealed with AES-256-GCM under a random key wrapped with
one derived (argon2id) from the password of the user it is made for (console/services/field_copy_file.py), and
replaced atomically. Making a copy is audited with its counts.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from console.domain.audit import Action, AuditEntry, Detail
from console.domain.cameras import NearbyCamera
from console.domain.incidents import Incident
from console.domain.users import Permission, User
from console.errors import UserError
from console.paths import user_data_dir
from console.services.background import BackgroundLoop
from console.services.field_copy_file import (
    FieldSeal,
    Header,
    KdfParams,
    WrongPassword,
    read_header,
    sealed_bytes,
    unsealed,
)
from console.services.offline import KnownCamera
from console.services.viewing import RECENT_GRANTS
from console.store import registry as registry_repo
from console.store.audit import AuditLog, AuditUnavailable, connection_lost
from console.store.db import Database, open_database
from console.store.secrets import ContactCipher, load_contact_key
from console.store.spatial import NearbyFilter, nearby_cameras

log = logging.getLogger(__name__)

FILE_NAME = "field-copy.rtic"
_TABLES = ("owners", "sites", "cameras", "streams", "share_grants", "incidents", "users", "sign_ins")


def default_field_copy_path() -> Path:
    return user_data_dir() / FILE_NAME


@dataclass(frozen=True)
class FieldCopyInfo:
    """What `field status` shows: who the copy is for, when it was made, what it holds."""

    path: str
    username: str
    role: str
    made_at: str
    counts: dict


class FieldCopy:
    """The copy's file: `refresh` it from the database while online, `open` it as a registry while offline. Both
    need the user's FieldSeal (from the password: `seal_for` for a new copy, `unlock` for this one)."""

    def __init__(self, path: Path | str | None = None, kdf: KdfParams = KdfParams()):
        self.path = Path(path) if path is not None else default_field_copy_path()
        self.kdf = kdf

    # --- the seal ---------------------------------------------------------------------------------------

    def seal_for(self, password: str) -> FieldSeal:
        """A new wrapping key from the password (fresh salt). argon2id is slow by design: not on the GUI thread."""
        return FieldSeal.from_password(password, self.kdf)

    def unlock(self, password: str) -> FieldSeal:
        """The wrapping key of this copy from the password; WrongPassword when it does not open it."""
        header = self.header()
        seal = FieldSeal.from_password(password, header.params, header.salt)
        seal.unwrap(header.wrapped_key)
        return seal

    def header(self) -> Header:
        """Who the copy is for and when it was made, readable without the password."""
        return read_header(self._read(), self.path)

    # --- making the copy -------------------------------------------------------------------------------

    def refresh(self, database: Database, user: User, now: datetime, workstation: str,
                audit: AuditLog | None = None, *, seal: FieldSeal) -> FieldCopyInfo:
        """Copy what `user`'s role may see from `database`, seal it to `seal` (the user's password), and replace
        the copy atomically; audited."""
        if not user.is_active:
            raise UserError(f"the account {user.username} is {user.state}: no field copy is made for it")
        with tempfile.TemporaryDirectory(prefix="rtic-field-") as folder:
            staging = Path(folder) / "copy.db"
            counts = _copy_registry(database, open_database(f"sqlite:///{staging}", create=True), user, now)
            plain = _serialised(staging)
        info = FieldCopyInfo(str(self.path), user.username, user.role.value, _iso(now), counts)
        self._write(sealed_bytes(info.__dict__, plain, seal, user.username, info.made_at))
        (audit or AuditLog(database)).append(AuditEntry(
            Action.FIELD_COPY, user.username, workstation, details={"counts": counts, "made_at": info.made_at,
                                                                    Detail.FIELD: "refresh"}))
        return info

    def _write(self, sealed: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(self.path.name + ".tmp")
        try:
            with open(os.open(temp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600), "wb") as handle:
                handle.write(sealed)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)  # readers see the old copy or the new one, never half of one
        except OSError as exc:
            raise UserError(f"cannot write the field copy {self.path}: {exc.strerror or exc}") from None

    # --- using the copy --------------------------------------------------------------------------------

    def open(self, key: str | FieldSeal, cipher: ContactCipher | None = None,
             read_only: bool = False) -> "FieldRegistry":
        """The copy as a registry in memory, opened with the user's password or FieldSeal; `read_only` (a console
        started in field mode) refuses every write, so an edit cannot land in the copy (and its audit event with
        it) instead of the database. WrongPassword when the password does not open it."""
        meta, data = self._unsealed(key)
        memory = sqlite3.connect(":memory:", check_same_thread=False)
        try:
            memory.deserialize(data)
            memory.execute("SELECT count(*) FROM cameras").fetchone()
            if read_only:
                memory.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            memory.close()
            raise UserError(f"the field copy {self.path} does not hold a registry: {exc}") from None
        engine = create_engine("sqlite://", creator=lambda: memory, poolclass=StaticPool)
        return FieldRegistry(Database(engine=engine, url="sqlite://"), FieldCopyInfo(**meta), cipher)

    def info(self, key: str | FieldSeal) -> FieldCopyInfo:
        return FieldCopyInfo(**self._unsealed(key)[0])

    def _read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            raise UserError(f"there is no field copy at {self.path}: run `rtic-console field sync` while online") \
                from None
        except OSError as exc:
            raise UserError(f"cannot read the field copy {self.path}: {exc.strerror or exc}") from None

    def _unsealed(self, key: str | FieldSeal) -> tuple[dict, bytes]:
        sealed = self._read()
        header = read_header(sealed, self.path)
        seal = key if isinstance(key, FieldSeal) else FieldSeal.from_password(key, header.params, header.salt)
        try:
            return unsealed(sealed, header, seal, self.path)
        except WrongPassword:
            raise WrongPassword(f"the field copy {self.path} is sealed to {header.username}'s password and this "
                                "password does not open it") from None


def build_field_copy(database: Database, user: User, password: str, now: datetime, workstation: str,
                     audit: AuditLog | None = None, path: Path | str | None = None,
                     kdf: KdfParams = KdfParams()) -> FieldCopyInfo:
    """`field sync`: the copy for `user`, sealed to `password` (the one the user signed in with, already checked)."""
    copy = FieldCopy(path, kdf)
    return copy.refresh(database, user, now, workstation, audit, seal=copy.seal_for(password))


class FieldRegistry:
    """An opened field copy: a read-only registry in memory, with what the offline paths ask of it."""

    def __init__(self, database: Database, info: FieldCopyInfo, cipher: ContactCipher | None = None):
        self.database = database
        self.info = info
        self._cipher = cipher

    @property
    def made_at(self) -> datetime:
        return datetime.fromisoformat(self.info.made_at)

    @property
    def username(self) -> str:
        """The account the copy was made for (the only account it holds)."""
        return self.info.username

    def nearby(self, lat: float, lon: float, radius_m: float, where: NearbyFilter = NearbyFilter(),
               limit: int | None = None) -> list[NearbyCamera]:
        with self.database.engine.connect() as conn:
            return nearby_cameras(conn, lat, lon, radius_m, where, limit)

    def known_camera(self, camera_id: int, now: datetime) -> KnownCamera | None:
        with self.database.engine.connect() as conn:
            camera = registry_repo.get_camera(conn, camera_id)
            if camera is None:
                return None
            grants = registry_repo.grants_for_cameras(conn, [camera_id], now - RECENT_GRANTS)
        return KnownCamera(camera, tuple(grants), self.made_at, from_field_copy=True)

    def incident(self, incident_id: int | None = None, cad_number: str | None = None) -> Incident | None:
        with self.database.engine.connect() as conn:
            if incident_id is not None:
                return registry_repo.get_incident(conn, incident_id)
            return registry_repo.find_incident(conn, cad_number) if cad_number else None

    def open_incidents(self) -> list[Incident]:
        with self.database.engine.connect() as conn:
            return registry_repo.open_incidents(conn)

    def stream_credentials(self, stream_id: int | None) -> tuple[str | None, str | None]:
        """Only present when the copy was made for a role that may view live."""
        if stream_id is None:
            return None, None
        if self._cipher is None:
            self._cipher = ContactCipher(load_contact_key())
        with self.database.engine.connect() as conn:
            return registry_repo.stream_credentials(conn, self._cipher, stream_id)

    def close(self) -> None:
        self.database.close()

    def __enter__(self) -> "FieldRegistry":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _copy_registry(source: Database, target: Database, user: User, now: datetime) -> dict:
    """Rows the role may see, from `source` into the fresh registry `target` (closed on return); the counts."""
    from console.store.models import Base

    tables = Base.metadata.tables
    live, reveal = user.may(Permission.LIVE_VIEW), user.may(Permission.CONTACT_REVEAL)
    grants, incidents = tables["share_grants"], tables["incidents"]
    queries = {name: select(tables[name]) for name in _TABLES}
    queries["share_grants"] = select(grants).where(grants.c.expires_at > now - RECENT_GRANTS)
    queries["incidents"] = select(incidents).where(incidents.c.closed_at.is_(None))
    # Only the account the copy is made for (its password hash and its TOTP secret, still encrypted with the
    # contact key), so the laptop can sign that person in with no connection; never another account.
    queries["users"] = select(tables["users"]).where(tables["users"].c.id == user.id)
    queries["sign_ins"] = select(tables["sign_ins"]).where(tables["sign_ins"].c.user_id == user.id)
    blank = {"owners": ({} if reveal else {"contact_ciphertext": None, "phone_digest": None, "email_digest": None}),
             "streams": {} if live else {"credential_ciphertext": None}}
    counts = {}
    try:
        with source.reader.connect() as read, target.engine.begin() as write:
            for name in _TABLES:
                batch: list[dict] = []
                counts[name] = 0
                for row in read.execute(queries[name]):
                    batch.append({**row._asdict(), **blank.get(name, {})})
                    if len(batch) == 5000:
                        write.execute(tables[name].insert(), batch)
                        counts[name] += len(batch)
                        batch = []
                if batch:
                    write.execute(tables[name].insert(), batch)
                    counts[name] += len(batch)
    finally:
        target.close()
    counts["owners_revealable"] = counts["owners"] if reveal else 0
    counts["streams_playable"] = live  # whether the streams' sign-in details came along
    return counts


def _connection_lost(exc: BaseException) -> bool:
    if isinstance(exc, AuditUnavailable):
        return exc.connection_lost
    return isinstance(exc, SQLAlchemyError) and connection_lost(exc)


def _serialised(path: Path) -> bytes:
    """The SQLite file's bytes, in rollback-journal mode (an in-memory copy cannot use WAL)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("VACUUM")
        return conn.serialize()
    finally:
        conn.close()


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()



class FieldCopyKeeper(BackgroundLoop):
    """Keeps a field laptop's copy in step while online: made again for the signed-in user at start() and then every
    `interval_s`, on its own thread; skipped while the database is away and made as soon as it is back.

    Each fresh copy is opened and handed to `on_fresh` (which gives it to the services that read it). A replaced
    copy is closed one refresh later, not at once: a search or an offline view may still be reading it.
    """

    def __init__(self, copy: FieldCopy, database: Database, user: User, workstation: str, connectivity,
                 on_fresh, interval_s: float = 1800.0, audit: AuditLog | None = None,
                 cipher: ContactCipher | None = None, current: FieldRegistry | None = None, clock=None, *,
                 seal: FieldSeal):
        self.copy, self.database, self.user, self.workstation = copy, database, user, workstation
        self.seal = seal  # derived from the password at sign-in; kept only in memory, never the password itself
        self.connectivity, self.on_fresh, self.interval_s = connectivity, on_fresh, interval_s
        self.audit, self.cipher = audit, cipher
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.current = current
        self._retired: FieldRegistry | None = None
        super().__init__()
        self._due = True
        self._lost = False  # the last refresh failed because the database went away
        self._unsubscribe = None

    def refresh_now(self) -> FieldRegistry | None:
        """Make, open and hand over a fresh copy; None (logged) when offline or when it failed."""
        if not self.connectivity.online:
            return None
        try:
            self.copy.refresh(self.database, self.user, self.clock(), self.workstation, self.audit, seal=self.seal)
            fresh = self.copy.open(self.seal, self.cipher)
        except Exception as exc:  # the database gone mid-copy, a full disk: the old copy stays in use
            self._lost = _connection_lost(exc)
            log.warning("field copy not refreshed: %s", exc, exc_info=not isinstance(exc, UserError))
            return None
        self._lost = False
        try:
            self.on_fresh(fresh)
        except Exception:
            log.exception("field copy: handing over the fresh copy failed")
            fresh.close()
            return None
        if self._retired is not None:
            self._retired.close()
        self._retired, self.current = self.current, fresh
        log.info("field copy refreshed for %s: %s", self.user.username, self.copy.path)
        return fresh

    thread_name = "field-copy-keeper"

    def start(self):
        if self._unsubscribe is None:
            self._unsubscribe = self.connectivity.subscribe(self._on_connectivity)
        return super().start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop refreshing (a copy being made finishes first); closes the copy it retired, not the one in use."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        super().stop(timeout)
        if self._retired is not None:
            self._retired.close()
            self._retired = None

    def _on_connectivity(self, state) -> None:
        if state.online and self._due:
            self._wake.set()  # a refresh missed while offline is made now

    def _run(self) -> None:
        while not self._stop.is_set():
            if self._due and self.connectivity.online:
                made = self.refresh_now() is not None
                # Failed because the database went away: made when it is back. Failed online: at the next interval.
                self._due = not made and (self._lost or not self.connectivity.online)
            woke = self._wake.wait(self.interval_s)
            self._wake.clear()
            if not woke:
                self._due = True
