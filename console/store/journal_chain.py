"""The offline journal's own hash chain, and the check a flush makes of it against what the server received.

Each workstation's entries in the journal are numbered 1, 2, 3 ... (its journal sequence) and chained: an entry's
hash covers the previous entry's hash, its sequence number and the canonical event (journal id, time, action, user,
workstation, outcome, camera, incident, canonical details). A workstation's chain starts from a genesis hash that
covers the workstation and the last sequence the journal knew had been received when the chain began. Pure: no I/O.

`findings` compares one workstation's entries (in the order they were written) with the journal's own record of its
head and with the server's record of the last entry it received; each gap, edit, reordering, cut tail or forged
"flushed" mark is a Finding naming the sequence numbers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from console.domain.audit import AuditEntry, canonical_details

FORMAT = "rtic-journal-chain-v1"  # part of every hash: a change of the canonical form must change this name


def genesis(workstation: str, base_seq: int) -> str:
    """The 'previous hash' of a workstation's first entry in a journal that began after sequence `base_seq`."""
    return hashlib.sha256(json.dumps([FORMAT, "genesis", workstation, base_seq], ensure_ascii=False,
                                     separators=(",", ":")).encode("utf-8")).hexdigest()


def canonical_event(journal_id: str, occurred_at: str, entry: AuditEntry) -> str:
    """The one text of a journaled event that its hash covers."""
    return json.dumps([journal_id, occurred_at, entry.action, entry.username, entry.workstation, entry.outcome,
                       entry.camera_id, entry.incident_id, canonical_details(entry.details)],
                      ensure_ascii=False, separators=(",", ":"))


def entry_hash(prev_hash: str, jseq: int, canonical: str) -> str:
    text = json.dumps([FORMAT, prev_hash, jseq, canonical], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Link:
    """One journal entry as the chain sees it."""

    n: int  # order of arrival in the file
    jseq: int | None
    prev_hash: str | None
    hash: str | None
    canonical: str
    flushed: bool  # the file says it reached the database
    journal_id: str


@dataclass(frozen=True)
class Head:
    """What the journal itself recorded for a workstation: where its chain began and its newest entry."""

    base_seq: int
    last_seq: int


@dataclass(frozen=True)
class Received:
    """The server's row for a workstation: the last journal sequence it received and that entry's hash."""

    last_seq: int
    last_hash: str


@dataclass(frozen=True)
class Finding:
    kind: str  # gap | edited | reordered | tail_deleted | received_missing | replaced | marked_flushed | unchained
    first_seq: int
    last_seq: int
    what: str  # one sentence for the auditor

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.first_seq}-{self.last_seq}"

    @property
    def seqs(self) -> list[int]:
        return list(range(self.first_seq, self.last_seq + 1))

    def as_detail(self) -> dict:
        return {"kind": self.kind, "first_seq": self.first_seq, "last_seq": self.last_seq, "what": self.what}


def _span(first: int, last: int) -> str:
    return f"sequence {first}" if first == last else f"sequences {first}-{last}"


def findings(workstation: str, links: list[Link], head: Head | None, received: Received | None) -> list[Finding]:
    """Everything about one workstation's chain that an honest journal would not show. `links` in file order."""
    found: list[Finding] = []
    prev: Link | None = None
    base = head.base_seq if head is not None else 0
    for link in links:
        if link.jseq is None or link.prev_hash is None or link.hash is None:
            found.append(Finding("unchained", 0, 0, f"entry {link.n} of the journal carries no sequence or hash"))
            continue
        if entry_hash(link.prev_hash, link.jseq, link.canonical) != link.hash:
            found.append(Finding("edited", link.jseq, link.jseq,
                                 f"journal entry {link.jseq} was changed after it was written"))
        expected_seq = prev.jseq + 1 if prev is not None else base + 1
        expected_prev = prev.hash if prev is not None else genesis(workstation, base)
        if link.jseq > expected_seq:
            found.append(Finding("gap", expected_seq, link.jseq - 1,
                                 f"journal {_span(expected_seq, link.jseq - 1)} are missing (deleted)"))
        elif link.jseq < expected_seq:
            found.append(Finding("reordered", link.jseq, link.jseq,
                                 f"journal entry {link.jseq} is out of order (after entry {expected_seq - 1})"))
            continue  # keep comparing later entries with the newest one seen
        elif link.prev_hash != expected_prev:
            found.append(Finding("edited", link.jseq, link.jseq,
                                 f"journal entry {link.jseq} does not follow the entry before it (changed or "
                                 "re-chained)"))
        prev = link
    newest = prev.jseq if prev is not None else base
    if head is not None and head.last_seq > newest:
        found.append(Finding("tail_deleted", newest + 1, head.last_seq,
                             f"the newest journal {_span(newest + 1, head.last_seq)} were deleted"))
    if received is not None and received.last_seq > 0:
        by_seq = {link.jseq: link for link in links if link.jseq is not None}
        if base > received.last_seq:
            found.append(Finding("gap", received.last_seq + 1, base,
                                 f"journal {_span(received.last_seq + 1, base)} never reached the audit trail and "
                                 "are not in the journal"))
        elif received.last_seq > max(newest, head.last_seq if head else 0):
            found.append(Finding("received_missing", newest + 1, received.last_seq,
                                 f"journal {_span(newest + 1, received.last_seq)}, already in the audit trail, "
                                 "were deleted from the journal"))
        elif received.last_seq > base:
            at = by_seq.get(received.last_seq)
            if at is None or at.hash != received.last_hash:
                found.append(Finding("replaced", 1, received.last_seq,
                                     f"the journal does not continue the one the audit trail received up to "
                                     f"sequence {received.last_seq} (replaced, rewritten or restarted)"))
    return found


def consistent_with_server(found: list[Finding]) -> bool:
    """Whether the server's last received sequence may be trusted to say which entries it already holds."""
    return not any(f.kind in ("replaced", "received_missing", "reordered", "unchained") for f in found)
