"""The agency's contact key: AES-256-GCM for owner contact and stream credentials, HMAC digests for look-ups.

The key never enters the database. It comes from RTIC_CONTACT_KEY (base64 of 32 bytes), or the file named by
RTIC_CONTACT_KEY_FILE, or `contact.key` in the user's data folder, which is created (mode 0600) on first
start when nothing else is configured. Losing the key makes the stored contacts unreadable: back it up.
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
_NONCE_BYTES = 12
_FORMAT = b"\x01"  # ciphertext layout version: 1 = nonce(12) | AES-256-GCM(ciphertext + tag)


class ContactCipher:
    """Encrypts small JSON records (owner contact, stream credentials) and digests look-up values."""

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise UserError("the contact key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)
        # A separate key for digests, derived so one key file serves both purposes.
        self._digest_key = hmac.new(key, b"rtic-console lookup digest v1", hashlib.sha256).digest()
        self._json = json.JSONEncoder(separators=(",", ":"), sort_keys=True)  # reused: the demo encrypts 700k

    def encrypt(self, record: dict, context: bytes = b"owner") -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        plain = self._json.encode(record).encode()
        return _FORMAT + nonce + self._aead.encrypt(nonce, plain, context)

    def decrypt(self, blob: bytes, context: bytes = b"owner") -> dict:
        if not blob or blob[:1] != _FORMAT:
            raise UserError("a stored contact record has an unknown format")
        nonce, body = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            return json.loads(self._aead.decrypt(nonce, body, context))
        except InvalidTag:
            raise UserError(
                "a stored contact record cannot be decrypted with this key: check RTIC_CONTACT_KEY or the key file"
            ) from None

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


def load_contact_key(create: bool = True) -> bytes:
    """The key in force (see the module docstring); creates the default key file when allowed."""
    if os.environ.get(ENV_KEY):
        return _decode(os.environ[ENV_KEY], ENV_KEY)
    path = Path(os.environ[ENV_KEY_FILE]) if os.environ.get(ENV_KEY_FILE) else user_data_dir() / "contact.key"
    if path.exists():
        return _decode(path.read_text().strip(), str(path))
    if not create or os.environ.get(ENV_KEY_FILE):
        raise UserError(f"the contact key file {path} does not exist")
    key = AESGCM.generate_key(bit_length=256)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(base64.b64encode(key).decode() + "\n")
    return key


def _decode(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise UserError(f"the contact key in {where} is not valid base64") from None
    if len(key) != 32:
        raise UserError(f"the contact key in {where} must be 32 bytes of base64 (it is {len(key)})")
    return key
