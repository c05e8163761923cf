"""Known answers for the audit chain: three fixed events give these exact canonical bytes and SHA-256 hashes.

Every stored trail was hashed this way. A change to the canonical form (field order, separators, escaping, number
or time formatting, the genesis hash) or to the hash breaks every existing trail, so it must fail here and come with
a migration of the chain. The expected values were computed once and are written out, not recomputed; the events
carry what is easy to get wrong: non-ASCII text, quotes, a line separator, control characters, nested and unsorted
details, floats, nulls, booleans. The store is held to the same answers on both backends (SQLite's verify builds the
forms in SQL, a second spelling of the same rule).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from console.domain.audit import (
    GENESIS_HASH,
    AuditEntry,
    ChainWalker,
    canonical_details,
    canonical_form,
    event_hash,
    format_timestamp,
)
from console.store.audit import AuditLog

UTC = timezone.utc
EVENTS = [
    (datetime(2026, 11, 23, 23, 45, 1, 123456, tzinfo=UTC),
     AuditEntry("login", "dispatcher7", "rtic-ws-1", "ok", None, None, {})),
    (datetime(2026, 11, 23, 23, 46, 2, 5000, tzinfo=UTC),
     AuditEntry("view_start", "dispatcher7", "rtic-ws-1", "ok", 42, 7,
                {"reason": "Robbery \u2014 suspect fled \"north\"", "protocol": "rtsp", "radius_m": 300,
                 "grant": {"source": "app", "id": 9}, "tiles": [1, 2.5, None, True]})),
    (datetime(2026, 11, 24, 0, 0, 0, 999000, tzinfo=UTC),
     AuditEntry("search_near", "det.M\u00fcller", "field-laptop-3", "denied", None, 7,
                {"lat": 42.1487, "lon": -72.6079, "note": "\u00fc\u2028\n\ttab"})),
]

CANONICAL = [
    b'[1,"2026-11-23T23:45:01.123Z","dispatcher7","rtic-ws-1","login","ok",null,null,{},'
    b'"0000000000000000000000000000000000000000000000000000000000000000"]',
    b'[2,"2026-11-23T23:46:02.005Z","dispatcher7","rtic-ws-1","view_start","ok",42,7,'
    b'{"grant":{"id":9,"source":"app"},"protocol":"rtsp","radius_m":300,'
    b'"reason":"Robbery \xe2\x80\x94 suspect fled \\"north\\"","tiles":[1,2.5,null,true]},'
    b'"b6f2da3270bf8a3e3eb5e857c21a0a1acc3c9780547153387e68e0f7ef6a0d2a"]',
    b'[3,"2026-11-24T00:00:00.999Z","det.M\xc3\xbcller","field-laptop-3","search_near","denied",null,7,'
    b'{"lat":42.1487,"lon":-72.6079,"note":"\xc3\xbc\xe2\x80\xa8\\n\\ttab"},'
    b'"15ab4b325ec5cd5cbb37a999ad84489e8793d7ae8acdda3b60ebc76cac317698"]',
]
HASHES = [
    "b6f2da3270bf8a3e3eb5e857c21a0a1acc3c9780547153387e68e0f7ef6a0d2a",
    "15ab4b325ec5cd5cbb37a999ad84489e8793d7ae8acdda3b60ebc76cac317698",
    "6a1be171a3fda382060048e8bbb8ee14d800549348bc7bb48ea66eac8830ce30",
]


def _fields(seq: int, when: datetime, entry: AuditEntry, prev: str) -> tuple:
    return (seq, format_timestamp(when), entry.username, entry.workstation, entry.action, entry.outcome,
            entry.camera_id, entry.incident_id, canonical_details(entry.details), prev)


def test_the_known_answers_agree_with_sha256_itself():
    assert GENESIS_HASH == "0" * 64
    for form, digest in zip(CANONICAL, HASHES):
        assert hashlib.sha256(form).hexdigest() == digest  # the written-out pairs are consistent


def test_fixed_events_give_the_fixed_canonical_bytes_and_hashes():
    prev = GENESIS_HASH
    for seq, ((when, entry), form, digest) in enumerate(zip(EVENTS, CANONICAL, HASHES), 1):
        fields = _fields(seq, when, entry, prev)
        assert canonical_form(*fields) == form, f"event {seq}: the canonical form changed"
        assert event_hash(*fields) == digest, f"event {seq}: the hash changed"
        prev = digest


def test_the_chain_walker_accepts_the_known_chain_and_refuses_one_changed_byte():
    rows = [_fields(seq, when, entry, prev) + (digest,)
            for seq, ((when, entry), prev, digest) in enumerate(zip(EVENTS, [GENESIS_HASH, *HASHES], HASHES), 1)]
    walker = ChainWalker()
    assert walker.feed(rows) and walker.result().ok and walker.result().checked == 3
    changed = list(rows)
    changed[1] = changed[1][:8] + (changed[1][8].replace("north", "south"),) + changed[1][9:]
    walker = ChainWalker()
    assert not walker.feed(changed) and walker.result().first_bad_seq == 2


def test_the_store_writes_and_verifies_the_known_hashes(database):
    times = iter(when for when, _entry in EVENTS)
    log = AuditLog(database, clock=lambda: next(times))
    records = [log.append(entry) for _when, entry in EVENTS]
    assert [r.hash for r in records] == HASHES
    assert [r.prev_hash for r in records] == [GENESIS_HASH, *HASHES[:2]]
    stored = log.query()
    assert sorted(r.hash for r in stored) == sorted(HASHES)
    result = log.verify()
    assert result.ok and result.checked == 3
