"""The agency's contact key: AES-256-GCM for owner contact and stream credentials, HMAC digests for look-ups.

The key never enters the database; only its key id and a check value do (console/store/key_check.py), so a
workstation holding another key is refused at start instead of writing records nobody else can read. The key comes
from RTIC_CONTACT_KEY (base64 of 32 bytes), or the file named by RTIC_CONTACT_KEY_FILE, or `contact.key` in the
user's data folder. The data-folder file is created (mode 0600) only by the start-up check, and only for a registry
that holds no encrypted record yet. Losing the key makes the stored contacts unreadable: back it up
(`rtic-console key export`).

Record layout, version 2: 0x02 | key id (8 bytes) | nonce (12) | AES-256-GCM ciphertext and tag (16), with the
context ("owner", "stream", "totp", ...) and the first nine bytes as associated data. Version 1 (0x01 | nonce |
ciphertext and tag, context only) is still read. The key id in each record tells a rotation which records are done
and tells a console whose key does not fit WHICH key the record needs (tests/store/test_cipher_format.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from console.errors import UserError
from console.paths import user_data_dir

ENV_KEY = "RTIC_CONTACT_KEY"
ENV_KEY_FILE = "RTIC_CONTACT_KEY_FILE"
KEY_FILE_NAME = "contact.key"
UNREADABLE = "(unreadable)"  # what a list, a detail or an export shows for a record this key cannot open
_NONCE_BYTES = 12
_KEY_ID_BYTES = 8
_V1 = b"\x01"
_V2 = b"\x02"


class UnreadableRecord(UserError):
    """A stored record that this key cannot decrypt (another agency key, or damaged); the message says which key."""


def key_id(key: bytes) -> str:
    """The key's public name: 16 hex digits (SHA-256 of an HMAC under the key, first 8 bytes). Reveals nothing."""
    return hashlib.sha256(hmac.new(key, b"rtic-console key id v1", hashlib.sha256).digest()).digest()[:8].hex()


def key_check_value(key: bytes) -> str:
    """HMAC-SHA256 of a fixed label under the key: what the database keeps to prove a key is the agency's."""
    return hmac.new(key, b"rtic-console contact key check v1", hashlib.sha256).hexdigest()


def record_key_id(blob: bytes | None) -> str | None:
    """The key id a stored record names (None for version-1 records, which name none)."""
    if blob and blob[:1] == _V2 and len(blob) > 1 + _KEY_ID_BYTES:
        return blob[1:1 + _KEY_ID_BYTES].hex()
    return None


class ContactCipher:
    """Encrypts small JSON records (owner contact, stream credentials) and digests look-up values."""

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise UserError("the contact key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)
        self.key_id = key_id(key)
        self._id_bytes = bytes.fromhex(self.key_id)
        # A separate key for digests, derived so one key file serves both purposes.
        self._digest_key = hmac.new(key, b"rtic-console lookup digest v1", hashlib.sha256).digest()
        self._json = json.JSONEncoder(separators=(",", ":"), sort_keys=True)  # reused: the demo encrypts 700k

    def encrypt(self, record: dict, context: bytes = b"owner") -> bytes:
        return self._seal(self._json.encode(record).encode(), context, os.urandom(_NONCE_BYTES))

    def _seal(self, plain: bytes, context: bytes, nonce: bytes) -> bytes:
        head = _V2 + self._id_bytes
        return head + nonce + self._aead.encrypt(nonce, plain, context + head)

    def decrypt(self, blob: bytes, context: bytes = b"owner") -> dict:
        """The record; UnreadableRecord when this key cannot open it (the sentence names the key it needs)."""
        if blob and blob[:1] == _V2 and len(blob) > 1 + _KEY_ID_BYTES + _NONCE_BYTES:
            head, rest = blob[:1 + _KEY_ID_BYTES], blob[1 + _KEY_ID_BYTES:]
            if head[1:] != self._id_bytes:
                raise UnreadableRecord(f"a stored record is encrypted under contact key {head[1:].hex()}, and this "
                                       f"workstation has key {self.key_id}: see `rtic-console key status`")
            aad = context + head
        elif blob and blob[:1] == _V1:
            rest, aad = blob[1:], context
        else:
            raise UnreadableRecord("a stored contact record has an unknown format")
        try:
            return json.loads(self._aead.decrypt(rest[:_NONCE_BYTES], rest[_NONCE_BYTES:], aad))
        except InvalidTag:
            raise UnreadableRecord(f"a stored contact record cannot be decrypted with contact key {self.key_id}: "
                                   "it was written under another key or damaged (see `rtic-console key status`)"
                                   ) from None

    def decrypt_or_none(self, blob: bytes | None, context: bytes = b"owner") -> dict | None:
        """The record, or None when it cannot be read: for lists and exports, where one bad record must not fail all."""
        if not blob:
            return {}
        try:
            return self.decrypt(blob, context)
        except UnreadableRecord:
            return None

    def digest(self, value: str) -> str | None:
        """A keyed digest (BLAKE2b MAC) of a normalised phone number or e-mail, for duplicate detection."""
        normal = normalise_lookup(value)
        return hashlib.blake2b(normal.encode(), key=self._digest_key, digest_size=32).hexdigest() if normal else None


_NOT_DIGITS = str.maketrans("", "", "".join(chr(c) for c in range(128) if not chr(c).isdigit()))


def normalise_lookup(value: str) -> str:
    value = (value or "").strip().lower()
    if "@" in value:
        return value
    return value.translate(_NOT_DIGITS)[-10:]  # US numbers: drop a leading country code


def default_key_path() -> Path:
    return user_data_dir() / KEY_FILE_NAME


def key_file_path() -> Path:
    """The key file in force: RTIC_CONTACT_KEY_FILE, else contact.key in the data folder."""
    return Path(os.environ[ENV_KEY_FILE]) if os.environ.get(ENV_KEY_FILE) else default_key_path()


def find_contact_key() -> tuple[bytes | None, str]:
    """(the key in force or None, where it comes from). Never creates a key."""
    if os.environ.get(ENV_KEY):
        return decode_key(os.environ[ENV_KEY], ENV_KEY), ENV_KEY
    path = key_file_path()
    source = f"{ENV_KEY_FILE} ({path})" if os.environ.get(ENV_KEY_FILE) else str(path)
    if path.exists():
        try:
            return decode_key(path.read_text().strip(), str(path)), source
        except OSError as exc:
            raise UserError(f"cannot read the contact key file {path}: {exc.strerror or exc}") from None
    if os.environ.get(ENV_KEY_FILE):
        raise UserError(f"the contact key file {path} ({ENV_KEY_FILE}) does not exist")
    return None, source


def load_contact_key(create: bool = False) -> bytes:
    """The key in force (see the module docstring). With `create` (tests and the demo only), a missing data-folder
    key file is made; a console makes it only through the start-up check (key_check.agency_cipher)."""
    key, _ = find_contact_key()
    if key is not None:
        return key
    if not create:
        raise UserError(f"this workstation has no contact key: {key_sources()}")
    key = AESGCM.generate_key(bit_length=256)
    write_key_file(default_key_path(), key)
    return key


def key_sources() -> str:
    """Where keys come from, in the words the refusal uses (the data folder as it is now)."""
    return (f"keys come from {ENV_KEY}, {ENV_KEY_FILE}, {KEY_FILE_NAME} in the data folder ({user_data_dir()}), "
            "or `rtic-console key import`")


def write_key_file(path: Path, key: bytes) -> None:
    """Write a key file, mode 0600; never over an existing file (FileExistsError)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(key).decode() + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise UserError(f"the contact key in {where} is not valid base64") from None
    if len(key) != 32:
        raise UserError(f"the contact key in {where} must be 32 bytes of base64 (it is {len(key)})")
    return key

# kept for callers of the old private name (console/cli/field.py)
_decode = decode_key
