"""Where the audit chain starts once retention has purged its oldest end, and what proves that start.

After a purge the trail begins at some event F > 1. It is complete only if the auditor's key signed a cut at or
after F - 1: a cut at F - 1 must be the hash event F points back to; a cut further on (a purge still in progress) must
be the hash the walk reaches at that event. Anything else (no cut, an unsigned or forged one) leaves the walk starting
at event 1, where "event 1 is missing" is the finding. `audit verify` and the checkpoint writer both start here.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from console.domain.audit import GENESIS_HASH
from console.domain.checkpoints import Finding
from console.domain.retention import Cut
from console.errors import UserError
from console.store import retention as store
from console.store.audit import AuditLog
from console.store.transactions import StoreError, transaction


@dataclass(frozen=True)
class TrailStart:
    start: tuple[int, str] | None = None  # (oldest seq, the hash it must point back to); None: walk from event 1
    floor: int = 0  # events at or below this were purged under a signed cut: their checkpoints cannot be compared
    must_match: tuple[int, str] | None = None  # a cut beyond the oldest event: the walk must reach this hash there
    cuts: tuple[int, ...] = ()  # the good cuts' events (a checkpoint after one counts fewer events than its seq)
    findings: tuple[Finding, ...] = ()

    @property
    def marks(self) -> set[int]:
        return {self.must_match[0]} if self.must_match else set()

    def reached(self, hashes_at: dict[int, str], broken_at: int | None) -> list[Finding]:
        """A finding when the walk did not reach the in-progress cut's signed hash."""
        if self.must_match is None:
            return []
        seq, digest = self.must_match
        if broken_at is not None and broken_at <= seq:
            return []  # the walk's own break is the finding
        if hashes_at.get(seq) != digest:
            return [Finding(seq, f"audit trail REWRITTEN at or before event {seq}: its hash differs from the cut the "
                                 "auditor's key signed for the retention purge")]
        return []


def cut_signature_holds(cut: Cut, public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(bytes.fromhex(cut.signature), cut.signed_bytes())
        return True
    except (InvalidSignature, ValueError):
        return False


def trail_start(log: AuditLog, public_key: Ed25519PublicKey | None, fingerprint: str | None = None) -> TrailStart:
    """Where to start walking. Without a public key a stored cut is taken on trust (verify then says completeness is
    not proven); with one, only cuts it signed count and any other stored cut is a finding."""
    try:
        with transaction(log.database) as conn:
            first = store.trail_start(conn)
            stored = store.stored_cuts(conn)
    except StoreError as exc:
        raise UserError(f"cannot read where the audit trail starts: {str(exc).splitlines()[0]}") from None
    findings: list[Finding] = []
    good: list[Cut] = []
    for cut in stored:
        if isinstance(cut, str):
            if public_key is not None:
                findings.append(Finding(None, cut))
        elif public_key is None:
            good.append(cut)
        elif cut.key != fingerprint or not cut_signature_holds(cut, public_key):
            findings.append(Finding(cut.seq, f"the audit cut at event {cut.seq} (signed at {cut.signed_at}) is not "
                                             "signed by the auditor's key: it was forged or changed"))
        else:
            good.append(cut)
    cut_seqs = tuple(sorted({c.seq for c in good}))
    if first is None or first[0] == 1:
        return TrailStart(cuts=cut_seqs, findings=tuple(findings))
    oldest, points_back_to = first
    covering = sorted((c for c in good if c.seq >= oldest - 1), key=lambda c: c.seq)
    if not covering:  # the walk from event 1 says what is missing
        start = None if public_key is None else (1, GENESIS_HASH)  # explicit: never a cut the key did not sign
        return TrailStart(start, cuts=cut_seqs, findings=tuple(findings))
    cut = covering[0]
    if cut.seq == oldest - 1:
        return TrailStart((oldest, cut.hash), oldest - 1, None, cut_seqs, tuple(findings))
    return TrailStart((oldest, points_back_to), oldest - 1, (cut.seq, cut.hash), cut_seqs, tuple(findings))
