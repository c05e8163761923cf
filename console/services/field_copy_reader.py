"""Using a field copy offline: the sealed file opened with its user's password as a read-only registry in memory.

The nearby search, the offline live-view decision and the map work on a `FieldRegistry` as on the real registry.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from console.domain.cameras import NearbyCamera
from console.domain.incidents import Incident
from console.errors import UserError
from console.services.field_copy_file import (
    FieldCopyInfo,
    FieldSeal,
    WrongPassword,
    read_header,
    read_sealed,
    unsealed,
)
from console.services.offline import KnownCamera
from console.services.viewing import RECENT_GRANTS
from console.store import registry as registry_repo
from console.store.db import Database
from console.store.field_copy import NotARegistry, open_serialised
from console.store.secrets import ContactCipher, load_contact_key
from console.store.spatial import NearbyFilter, nearby_cameras


def unlock(path: Path, password: str) -> FieldSeal:
    """The wrapping key of the copy at `path` from the password; WrongPassword when it does not open it."""
    header = read_header(read_sealed(path), path)
    seal = FieldSeal.from_password(password, header.params, header.salt)
    seal.unwrap(header.wrapped_key)
    return seal


def open_copy(path: Path, key: str | FieldSeal, cipher: ContactCipher | None = None,
              read_only: bool = False) -> "FieldRegistry":
    """The copy at `path` as a registry in memory, opened with the user's password or FieldSeal; `read_only` refuses
    every write. WrongPassword when the password does not open it."""
    meta, data = unsealed_copy(path, key)
    try:
        database = open_serialised(data, read_only)
    except NotARegistry as exc:
        raise UserError(f"the field copy {path} does not hold a registry: {exc}") from None
    return FieldRegistry(database, FieldCopyInfo(**meta), cipher)


def unsealed_copy(path: Path, key: str | FieldSeal) -> tuple[dict, bytes]:
    """(metadata, the registry's SQLite bytes) of the copy at `path`; WrongPassword naming whose password it needs."""
    sealed = read_sealed(path)
    header = read_header(sealed, path)
    seal = key if isinstance(key, FieldSeal) else FieldSeal.from_password(key, header.params, header.salt)
    try:
        return unsealed(sealed, header, seal, path)
    except WrongPassword:
        raise WrongPassword(f"the field copy {path} is sealed to {header.username}'s password and this "
                            "password does not open it") from None


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
