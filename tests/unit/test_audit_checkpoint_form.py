"""The bytes an auditor's key signs for a checkpoint, pinned (known answer), and the parsing of untrusted checkpoints."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from console.domain.checkpoints import BadCheckpoint, Checkpoint, checkpoint_from, compare, parse_line, signed_bytes
from console.services.audit_checkpoints import Signer, signature_holds

# RFC 8032, section 7.1, TEST 1: a published Ed25519 key pair.
RFC_SECRET = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
RFC_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
FINGERPRINT = hashlib.sha256(bytes.fromhex(RFC_PUBLIC)).hexdigest()


def test_the_signed_bytes_are_the_documented_canonical_json():
    expected = ('{"count":41,"hash":"' + "ab" * 32 + '","key":"' + FINGERPRINT + '","seq":41,'
                '"signed_at":"2026-12-01T00:00:00.000Z","type":"rtic-console audit checkpoint v1"}').encode("ascii")
    assert signed_bytes(41, "ab" * 32, 41, "2026-12-01T00:00:00.000Z", FINGERPRINT) == expected


def test_known_answer_signature_with_the_rfc_8032_key():
    signer = Signer(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(RFC_SECRET)))
    assert signer.fingerprint == FINGERPRINT
    checkpoint = signer.sign(41, "ab" * 32, 41, "2026-12-01T00:00:00.000Z")
    # Ed25519 is deterministic: the same key and bytes give this signature on every machine.
    assert checkpoint.signature == (
        "fc28a72e6c038a3ddfdd3d0382766d0074ac3653f2e208aa37b2984104ca65b3"
        "7b505836a81fb52facda3c5d74ccd41e13e2284dc5fbf41743dda42f8e157202")
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(RFC_PUBLIC))
    assert signature_holds(checkpoint, public)
    for changed in (Checkpoint(40, checkpoint.hash, 41, checkpoint.signed_at, FINGERPRINT, checkpoint.signature),
                    Checkpoint(41, "cd" * 32, 41, checkpoint.signed_at, FINGERPRINT, checkpoint.signature),
                    Checkpoint(41, checkpoint.hash, 40, checkpoint.signed_at, FINGERPRINT, checkpoint.signature),
                    Checkpoint(41, checkpoint.hash, 41, "2026-12-02T00:00:00.000Z", FINGERPRINT, checkpoint.signature)):
        assert not signature_holds(changed, public)


def test_a_printed_line_reads_back_as_the_same_checkpoint():
    signer = Signer(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(RFC_SECRET)))
    checkpoint = signer.sign(7, "01" * 32, 7, "2026-12-01T10:00:00.000Z")
    assert parse_line("  " + checkpoint.line() + "  ") == checkpoint
    assert parse_line("live views: 3") is None


@pytest.mark.parametrize("values,field", [
    ({"seq": -1}, "seq"), ({"seq": True}, "seq"), ({"seq": "1e9"}, "seq"), ({"seq": 2**64}, "seq"),
    ({"hash": "AB" * 32}, "hash"), ({"hash": "ab" * 31}, "hash"), ({"hash": None}, "hash"),
    ({"count": 1.5}, "count"), ({"signed_at": "yesterday"}, "signed_at"), ({"key": "x"}, "key"),
    ({"signature": "00" * 63}, "signature"), ({"signature": ["00"]}, "signature"),
])
def test_hostile_checkpoint_values_are_refused_with_the_field_named(values, field):
    good = {"seq": 1, "hash": "ab" * 32, "count": 1, "signed_at": "2026-12-01T00:00:00.000Z", "key": "cd" * 32,
            "signature": "ef" * 64}
    assert checkpoint_from(good).seq == 1
    with pytest.raises(BadCheckpoint, match=f"its {field} is"):
        checkpoint_from({**good, **values})


def test_compare_names_the_range_after_the_last_matching_checkpoint():
    cps = [Checkpoint(s, h, s, "2026-12-01T00:00:00.000Z", "cd" * 32, "ef" * 64) for s, h in ((3, "a" * 64),
                                                                                                (8, "b" * 64))]
    walked = {3: "a" * 64, 8: "c" * 64}
    [finding] = compare(cps, 10, walked)
    assert finding.seq == 8 and "(events 4 to 8 were changed, removed or re-chained)" in finding.sentence
    assert compare(cps, 10, {3: "a" * 64, 8: "b" * 64}) == []
    # a walk that broke at event 5 leaves the checkpoint of event 8 to the break's own report
    assert compare(cps, 4, {3: "a" * 64}, broken_at=5) == []
