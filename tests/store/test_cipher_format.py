"""Known answer: a fixed key, record and nonce give one fixed ciphertext layout (version, key id, nonce, tag).

If the format changes, this fails: records already stored would no longer be read. The expected bytes were made
once with this code and are checked again here with `cryptography`'s AES-GCM directly (an independent oracle).
"""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from console.store.secrets import ContactCipher, UnreadableRecord, key_id, record_key_id

KEY = bytes(range(32))
NONCE = bytes(range(100, 112))
RECORD = {"name": "Maria Lopez", "phone": "215-555-0143"}
PLAIN = b'{"name":"Maria Lopez","phone":"215-555-0143"}'
KEY_ID = "2e81f8bbdf770517"
EXPECTED = bytes.fromhex(
    "02" "2e81f8bbdf770517" "6465666768696a6b6c6d6e6f"
    "3339b007148c74a41c2f3e9ab3044ab12db26370a940d102cfbec22dd999877aa5dc6df57927b634ccc74b1d80ba"
    "9e2c0f1a7f95a14559b2b6b251e9b9")


def test_the_key_id_is_sha256_of_an_hmac_under_the_key():
    expected = hashlib.sha256(hmac.new(KEY, b"rtic-console key id v1", hashlib.sha256).digest()).digest()[:8].hex()
    assert key_id(KEY) == expected == KEY_ID


def test_a_fixed_key_record_and_nonce_give_the_known_layout():
    sealed = ContactCipher(KEY)._seal(PLAIN, b"owner", NONCE)
    assert sealed == EXPECTED
    assert sealed[0] == 2 and sealed[1:9].hex() == KEY_ID and sealed[9:21] == NONCE
    assert len(sealed) == 1 + 8 + 12 + len(PLAIN) + 16  # version, key id, nonce, ciphertext, GCM tag
    # Independently: AES-256-GCM of the JSON with the context and the header as associated data.
    assert AESGCM(KEY).decrypt(NONCE, sealed[21:], b"owner" + sealed[:9]) == PLAIN
    assert ContactCipher(KEY).decrypt(EXPECTED) == RECORD
    assert record_key_id(EXPECTED) == KEY_ID


def test_version_1_records_are_still_read():
    legacy = b"\x01" + NONCE + AESGCM(KEY).encrypt(NONCE, PLAIN, b"owner")
    assert ContactCipher(KEY).decrypt(legacy) == RECORD
    assert record_key_id(legacy) is None


def test_changing_the_header_or_the_context_makes_the_record_unreadable():
    cipher = ContactCipher(KEY)
    edited = EXPECTED[:1] + bytes(8) + EXPECTED[9:]
    with pytest.raises(UnreadableRecord, match="encrypted under contact key 0000000000000000"):
        cipher.decrypt(edited)
    with pytest.raises(UnreadableRecord, match="cannot be decrypted"):
        cipher.decrypt(EXPECTED, b"stream")
    with pytest.raises(UnreadableRecord, match="unknown format"):
        cipher.decrypt(b"\x07" + EXPECTED[1:])
    assert cipher.decrypt_or_none(edited) is None


def test_another_key_names_the_key_the_record_needs():
    other = ContactCipher(b"k" * 32)
    with pytest.raises(UnreadableRecord) as refused:
        other.decrypt(EXPECTED)
    assert KEY_ID in str(refused.value) and other.key_id in str(refused.value)
