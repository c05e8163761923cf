"""Signed audit checkpoints: what an auditor's key signs about the chain's head, and how the chain is held to them.

A checkpoint says "at `signed_at` the trail held `count` events and event `seq` had hash `hash`", signed with the
auditor's Ed25519 key (identified by `key`, the SHA-256 of its raw public bytes). Anyone who can write the database
can re-chain the events with the console's own hash, but cannot sign: a rewrite, a cut-off tail or an emptied trail
before a checkpoint no longer matches it. Pure: the signing itself is in console/services/audit_checkpoints.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

CHECKPOINT_TYPE = "rtic-console audit checkpoint v1"  # in the signed bytes: a signature means nothing else
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
_MAX_SEQ = 2**63 - 1


@dataclass(frozen=True)
class Checkpoint:
    """One signed statement about the chain's head. `signature` is the Ed25519 signature, 128 hex digits."""

    seq: int  # the newest event covered (0: the trail was empty)
    hash: str  # that event's hash (GENESIS_HASH when seq is 0)
    count: int  # how many events the trail held
    signed_at: str  # ISO 8601 UTC with milliseconds, as the audit trail writes times
    key: str  # SHA-256 (hex) of the signer's raw 32-byte public key
    signature: str

    def signed_bytes(self) -> bytes:
        return signed_bytes(self.seq, self.hash, self.count, self.signed_at, self.key)

    def as_dict(self) -> dict:
        return {"seq": self.seq, "hash": self.hash, "count": self.count, "signed_at": self.signed_at,
                "key": self.key, "signature": self.signature}

    def line(self) -> str:
        """One line to print or keep on paper; `audit verify --checkpoints FILE` reads such lines back."""
        return (f"checkpoint seq={self.seq} hash={self.hash} count={self.count} signed_at={self.signed_at} "
                f"key={self.key} signature={self.signature}")


def signed_bytes(seq: int, hash: str, count: int, signed_at: str, key: str) -> bytes:
    """The exact bytes the auditor's key signs: compact JSON with sorted keys, ASCII only."""
    return json.dumps({"type": CHECKPOINT_TYPE, "seq": int(seq), "hash": hash, "count": int(count),
                       "signed_at": signed_at, "key": key},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def key_fingerprint(raw_public_key: bytes) -> str:
    """The id of an Ed25519 public key: SHA-256 (hex) of its 32 raw bytes."""
    return hashlib.sha256(raw_public_key).hexdigest()


class BadCheckpoint(ValueError):
    """A stored or given checkpoint that is not even well-formed (the message says which field)."""


def checkpoint_from(values: Mapping) -> Checkpoint:
    """A Checkpoint from untrusted values (a database row, an audit event's details, a line on paper)."""
    def number(name: str) -> int:
        value = values.get(name)
        if isinstance(value, str) and value.isdigit() and len(value) <= 19:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_SEQ:
            raise BadCheckpoint(f"its {name} is not a whole number")
        return value

    def text(name: str, pattern: re.Pattern) -> str:
        value = values.get(name)
        if not isinstance(value, str) or not pattern.match(value):
            raise BadCheckpoint(f"its {name} is malformed")
        return value

    return Checkpoint(number("seq"), text("hash", _HEX64), number("count"), text("signed_at", _TIME),
                      text("key", _HEX64), text("signature", _HEX128))


_LINE_FIELD = re.compile(r"(seq|hash|count|signed_at|key|signature)=(\S{1,200})")


def parse_line(line: str) -> Checkpoint | None:
    """The checkpoint in a printed line (`Checkpoint.line`), or None when the line holds none."""
    if "checkpoint" not in line or "signature=" not in line:
        return None
    return checkpoint_from(dict(_LINE_FIELD.findall(line[:2000])))


# --- holding the chain to the checkpoints -------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """Something verify found that proves the trail is not what the auditor's key saw; `seq` the event it names."""

    seq: int | None
    sentence: str


def compare(checkpoints: Iterable[Checkpoint], last_seq: int | None, hashes_at: Mapping[int, str],
            broken_at: int | None = None, floor: int = 0, cuts: Iterable[int] = ()) -> list[Finding]:
    """Hold the walked chain to checkpoints whose signatures were already checked.

    `last_seq` is the newest event of an intact walk (None: no event), `hashes_at` each checkpoint's event hash as
    walked, `broken_at` the first broken event when the walk stopped (checkpoints beyond it cannot be compared,
    and the break itself is reported by the walk). `floor`: the events up to it were purged under a cut the auditor
    signed (console/domain/retention.py), so checkpoints there cannot be compared; `cuts`: every such cut's event, as
    a checkpoint signed after one counts the events kept, not all since event 1.
    """
    findings: list[Finding] = []
    matched_below = floor  # the newest checkpointed event that still matches: a rewrite lies after it
    cuts = sorted(set(cuts))
    for cp in sorted(set(checkpoints), key=lambda c: (c.seq, c.signed_at)):
        if cp.seq == 0 or cp.seq <= floor:
            continue  # an empty trail was signed, or events purged behind a signed cut: nothing to compare
        if broken_at is not None and cp.seq >= broken_at:
            continue
        if last_seq is None:
            findings.append(Finding(cp.seq, f"audit trail EMPTIED: the checkpoint signed at {cp.signed_at} covers "
                                            f"events 1 to {cp.seq}, and no event is left"))
        elif cp.seq > last_seq:
            findings.append(Finding(last_seq + 1, f"audit trail CUT OFF after event {last_seq}: the checkpoint "
                                                  f"signed at {cp.signed_at} covers event {cp.seq}, so events "
                                                  f"{last_seq + 1} to {cp.seq} were removed"))
        elif hashes_at.get(cp.seq) != cp.hash:
            findings.append(Finding(cp.seq, f"audit trail REWRITTEN at or before event {cp.seq}: its hash differs "
                                            f"from the checkpoint signed at {cp.signed_at} (events "
                                            f"{matched_below + 1} to {cp.seq} were changed, removed or re-chained)"))
        elif cp.count != cp.seq and not 0 < cp.seq - cp.count <= max((c for c in cuts if c < cp.seq), default=0):
            findings.append(Finding(cp.seq, f"the checkpoint signed at {cp.signed_at} counted {cp.count} events up "
                                            f"to event {cp.seq}: the trail already had a gap when it was signed"))
        else:
            matched_below = max(matched_below, cp.seq)
    return findings
