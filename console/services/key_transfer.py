"""Carrying the agency's contact key to another workstation: one passphrase-protected file (argon2id + AES-256-GCM).

The file is JSON: {"format", "version", "key_id", "kdf": {argon2id salt and parameters}, "cipher": {AES-256-GCM nonce
and ciphertext}}; the key id and the parameters are bound to the ciphertext as associated data, so changing any of
them makes the file unreadable rather than a different key. A file being imported is untrusted: its size, fields and
argon2 parameters are bounded before any work is done.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from console.errors import UserError
from console.store.secrets import key_id

FORMAT = "rtic-console contact key"
VERSION = 1
# RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes): a second or so on a workstation.
DEFAULT_PARAMS = {"time_cost": 3, "memory_cost": 65536, "parallelism": 4}
_LIMITS = {"time_cost": (1, 20), "memory_cost": (8192, 1048576), "parallelism": (1, 16)}
_MAX_FILE_BYTES = 4096
MIN_PASSPHRASE = 12


class WrongPassphrase(UserError):
    """The passphrase does not open the key file (or the file was changed)."""


def _derive(passphrase: str, salt: bytes, params: dict) -> bytes:
    return hash_secret_raw(passphrase.encode(), salt, time_cost=params["time_cost"],
                           memory_cost=params["memory_cost"], parallelism=params["parallelism"], hash_len=32,
                           type=Type.ID)


def _aad(kid: str, params: dict) -> bytes:
    return json.dumps({"format": FORMAT, "version": VERSION, "key_id": kid, **params}, sort_keys=True).encode()


def write_key_export(path: Path, key: bytes, passphrase: str, params: dict | None = None) -> str:
    """Write the key to `path` (mode 0600, never over an existing file) under the passphrase; the key id."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise UserError(f"the passphrase must be at least {MIN_PASSPHRASE} characters")
    params = dict(params or DEFAULT_PARAMS)
    kid, salt, nonce = key_id(key), os.urandom(16), os.urandom(12)
    sealed = AESGCM(_derive(passphrase, salt, params)).encrypt(nonce, key, _aad(kid, params))
    document = {"format": FORMAT, "version": VERSION, "key_id": kid,
                "kdf": {"name": "argon2id", "salt": _b64(salt), **params},
                "cipher": {"name": "AES-256-GCM", "nonce": _b64(nonce), "ciphertext": _b64(sealed)}}
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise UserError(f"{path} already exists: choose another file (a key export never overwrites)") from None
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    return kid


def read_key_export(path: Path) -> dict:
    """The file's checked fields (key id, salt, parameters, nonce, ciphertext); UserError for anything else."""
    bad = f"{path} is not a contact key export from `rtic-console key export`"
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            raise UserError(f"{bad} (it is too large)")
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"there is no file {path}") from None
    except (OSError, UnicodeDecodeError, ValueError):
        raise UserError(bad) from None
    try:
        kdf, cipher = document["kdf"], document["cipher"]
        if (document["format"] != FORMAT or kdf["name"] != "argon2id" or cipher["name"] != "AES-256-GCM"):
            raise UserError(bad)
        if document["version"] != VERSION:
            raise UserError(f"{path} is a version {document['version']!r} key export: use a console that knows it")
        params = {}
        for name, (low, high) in _LIMITS.items():
            value = kdf[name]
            if type(value) is not int or not low <= value <= high:
                raise UserError(f"{bad} (its {name} is out of range)")
            params[name] = value
        kid = document["key_id"]
        if not isinstance(kid, str) or len(kid) != 16 or any(c not in "0123456789abcdef" for c in kid):
            raise UserError(bad)
        salt, nonce, sealed = _unb64(kdf["salt"]), _unb64(cipher["nonce"]), _unb64(cipher["ciphertext"])
    except (KeyError, TypeError, binascii.Error, ValueError):
        raise UserError(bad) from None
    if len(salt) < 16 or len(nonce) != 12 or len(sealed) != 48:
        raise UserError(bad)
    return {"key_id": kid, "salt": salt, "params": params, "nonce": nonce, "sealed": sealed}


def open_key_export(path: Path, passphrase: str) -> tuple[bytes, str]:
    """(the key, its id) from an export file; WrongPassphrase when the passphrase does not open it."""
    fields = read_key_export(path)
    try:
        key = AESGCM(_derive(passphrase, fields["salt"], fields["params"])).decrypt(
            fields["nonce"], fields["sealed"], _aad(fields["key_id"], fields["params"]))
    except InvalidTag:
        raise WrongPassphrase(f"the passphrase does not open {path} (or the file was changed): nothing was "
                              "installed") from None
    if key_id(key) != fields["key_id"]:
        raise UserError(f"{path} names key {fields['key_id']} but holds another key: nothing was installed")
    return key, fields["key_id"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text) -> bytes:
    if not isinstance(text, str) or len(text) > 200:
        raise ValueError("not base64")
    return base64.b64decode(text, validate=True)
