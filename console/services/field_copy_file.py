"""The field copy's file format: sealed to its user's password.

    "RTICFC02" | header length (4 bytes, big-endian) | header (JSON) | nonce (12) | AES-256-GCM(data key, body)

The header is readable without the password (who the copy is for, when it was made, the argon2id parameters and
salt, the wrapped data key) and is bound to the body as AES-GCM associated data, so changing it makes the copy
unreadable. The data key is random for each copy and wrapped (AES-256-GCM) with a key derived from the user's
password by argon2id (argon2-cffi `hash_secret_raw`). A laptop without the password cannot open the copy, whatever
else of the data folder it holds. The body is: metadata length (4) | metadata (JSON: FieldCopyInfo) | the SQLite
registry's bytes. The file is replaced atomically (write_sealed), so a reader sees the old copy or the new one.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from console.errors import UserError
from console.paths import user_data_dir

FILE_NAME = "field-copy.rtic"
MAGIC = b"RTICFC02"
_NONCE = 12
_WRAP_LABEL = b"rtic-console field copy data key v2"
MAX_HEADER = 4096


def default_field_copy_path() -> Path:
    return user_data_dir() / FILE_NAME


@dataclass(frozen=True)
class FieldCopyInfo:
    """What `field status` shows: who the copy is for, when it was made, what it holds (the sealed metadata)."""

    path: str
    username: str
    role: str
    made_at: str
    counts: dict


@dataclass(frozen=True)
class KdfParams:
    """argon2id cost. The default is RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes)."""

    time_cost: int = 3
    memory_cost: int = 65536  # KiB
    parallelism: int = 4

    def checked(self) -> "KdfParams":
        # A hostile header must not make the laptop spend minutes or gigabytes before the password is even tried.
        if not (1 <= self.time_cost <= 10 and 8 <= self.memory_cost <= 1 << 20 and 1 <= self.parallelism <= 16):
            raise UserError("the field copy's header asks for key-derivation costs out of range: it was not made "
                            "by this console; sync it again while online")
        return self


class WrongPassword(UserError):
    """The password does not unwrap the copy's data key."""


class FieldSeal:
    """The key that wraps a field copy's data key, derived from the user's password (kept only in memory)."""

    def __init__(self, key: bytes, salt: bytes, params: KdfParams):
        self._key, self.salt, self.params = key, salt, params

    @classmethod
    def from_password(cls, password: str, params: KdfParams = KdfParams(), salt: bytes | None = None) -> "FieldSeal":
        salt = salt if salt is not None else os.urandom(16)
        params = params.checked()
        key = hash_secret_raw(secret=(password or "").encode("utf-8"), salt=salt, time_cost=params.time_cost,
                              memory_cost=params.memory_cost, parallelism=params.parallelism, hash_len=32,
                              type=Type.ID)
        return cls(key, salt, params)

    def __repr__(self) -> str:  # never the key
        return f"FieldSeal(salt={self.salt.hex()[:8]}…, {self.params})"

    def wrap(self, data_key: bytes, nonce: bytes | None = None) -> bytes:
        nonce = nonce if nonce is not None else os.urandom(_NONCE)
        return nonce + AESGCM(self._key).encrypt(nonce, data_key, _WRAP_LABEL)

    def unwrap(self, wrapped: bytes) -> bytes:
        try:
            return AESGCM(self._key).decrypt(wrapped[:_NONCE], wrapped[_NONCE:], _WRAP_LABEL)
        except InvalidTag:
            raise WrongPassword("the password does not open the field copy") from None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def sealed_bytes(meta: dict, registry: bytes, seal: FieldSeal, username: str, made_at: str,
                 data_key: bytes | None = None, nonces: tuple[bytes, bytes] | None = None) -> bytes:
    """The whole file. `data_key` and `nonces` only for the known-answer test (tests/data/make_fixtures.py)."""
    data_key = data_key if data_key is not None else AESGCM.generate_key(bit_length=256)
    wrap_nonce, body_nonce = nonces if nonces is not None else (os.urandom(_NONCE), os.urandom(_NONCE))
    header = json.dumps({
        "format": 2, "username": username, "made_at": made_at,
        "kdf": {"name": "argon2id", "version": 19, "time_cost": seal.params.time_cost,
                "memory_cost": seal.params.memory_cost, "parallelism": seal.params.parallelism,
                "salt": _b64(seal.salt)},
        "wrapped_key": _b64(seal.wrap(data_key, wrap_nonce))}, sort_keys=True, separators=(",", ":")).encode()
    meta_json = json.dumps(meta, sort_keys=True).encode()
    body = len(meta_json).to_bytes(4, "big") + meta_json + registry
    head = MAGIC + len(header).to_bytes(4, "big") + header
    return head + body_nonce + AESGCM(data_key).encrypt(body_nonce, body, head)


@dataclass(frozen=True)
class Header:
    username: str
    made_at: str
    params: KdfParams
    salt: bytes
    wrapped_key: bytes
    raw: bytes  # everything before the body, as authenticated


def read_header(sealed: bytes, path: Path) -> Header:
    """The readable part, checked; UserError naming the file when it is not a copy this console made."""
    if sealed.startswith(b"RTICFC01"):
        raise UserError(f"the field copy {path} is in the old format that was not sealed to its user: sync it again "
                        "while online (`rtic-console field sync`) to replace it")
    if len(sealed) < len(MAGIC) + 4 or not sealed.startswith(MAGIC):
        raise UserError(f"{path} is not a field copy made by this console")
    size = int.from_bytes(sealed[len(MAGIC):len(MAGIC) + 4], "big")
    end = len(MAGIC) + 4 + size
    if size > MAX_HEADER or len(sealed) < end + _NONCE + 16:
        raise UserError(f"{path} is not a field copy made by this console (its header is damaged)")
    try:
        header = json.loads(sealed[len(MAGIC) + 4:end])
        kdf = header["kdf"]
        if header["format"] != 2 or kdf["name"] != "argon2id":
            raise ValueError("format")
        params = KdfParams(int(kdf["time_cost"]), int(kdf["memory_cost"]), int(kdf["parallelism"]))
        salt, wrapped = base64.b64decode(kdf["salt"], validate=True), base64.b64decode(header["wrapped_key"],
                                                                                       validate=True)
        username, made_at = str(header["username"])[:64], str(header["made_at"])[:40]
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{path} is not a field copy made by this console (its header is damaged)") from None
    if not 8 <= len(salt) <= 64 or len(wrapped) != _NONCE + 32 + 16:
        raise UserError(f"{path} is not a field copy made by this console (its header is damaged)")
    return Header(username, made_at, params.checked(), salt, wrapped, sealed[:end])


def unsealed(sealed: bytes, header: Header, seal: FieldSeal, path: Path) -> tuple[dict, bytes]:
    """(metadata, the registry's SQLite bytes). WrongPassword when the seal does not fit; UserError when damaged."""
    data_key = seal.unwrap(header.wrapped_key)
    body = sealed[len(header.raw):]
    try:
        plain = AESGCM(data_key).decrypt(body[:_NONCE], body[_NONCE:], header.raw)
    except InvalidTag:
        raise UserError(f"the field copy {path} is damaged or was altered: it cannot be used; sync it again while "
                        "online") from None
    size = int.from_bytes(plain[:4], "big")
    return json.loads(plain[4:4 + size]), plain[4 + size:]


def write_sealed(path: Path, sealed: bytes) -> None:
    """Replace the file at `path` with `sealed` (owner-only, synced); UserError naming it when it cannot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    try:
        with open(os.open(temp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600), "wb") as handle:
            handle.write(sealed)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)  # readers see the old copy or the new one, never half of one
    except OSError as exc:
        raise UserError(f"cannot write the field copy {path}: {exc.strerror or exc}") from None


def read_sealed(path: Path) -> bytes:
    """The file's bytes; UserError naming it (and what to do) when there is none or it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"there is no field copy at {path}: run `rtic-console field sync` while online") from None
    except OSError as exc:
        raise UserError(f"cannot read the field copy {path}: {exc.strerror or exc}") from None
