"""Signed audit checkpoints: the auditor's key pair, signing the chain's head, and holding the chain to every checkpoint.

The private key lives in a file outside the database (mode 0600, optionally passphrase-protected); it is read into
memory to sign and is never stored, logged or put into an audit event. Only its public key's fingerprint and the
signatures reach the database. `completeness` is what `audit verify` adds to the chain walk: with the auditor's
public key, a rewrite, a cut-off tail or an emptied trail before a checkpoint is found and named by sequence number.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from console.domain.audit import Action, AuditEntry, AuditFilter, ChainWalker, Outcome, VerifyResult, format_timestamp
from console.domain.checkpoints import BadCheckpoint, Checkpoint, Finding, checkpoint_from, compare, key_fingerprint
from console.domain.checkpoints import parse_line
from console.domain.retention import Cut, cut_bytes
from console.errors import UserError
from console.store.audit import AuditLog
from console.store.audit_guards import guard_problems
from console.store.checkpoints import ChainNotSigned, events_after, stored_checkpoints, write_checkpoint
from console.services.retention_chain import trail_start

ENV_PASSPHRASE = "RTIC_AUDIT_KEY_PASSPHRASE"  # for scripts and the automatic checkpoint; else asked at the terminal
_RAW = dict(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)


# --- the key pair ------------------------------------------------------------------------------------


def keygen(out: str | os.PathLike, passphrase: bytes | None = None) -> str:
    """Write a new Ed25519 private key to `out` (PEM, 0600) and its public key to `out`.pub; the fingerprint.

    Refuses to overwrite either file: an auditor's old key may still be the only proof of old checkpoints.
    """
    private_path = Path(out)
    public_path = Path(f"{private_path}.pub")
    for path in (private_path, public_path):
        if path.exists() or path.is_symlink():
            raise UserError(f"{path} already exists: give a new file name (an old key is never overwritten)")
    if not private_path.parent.is_dir():
        raise UserError(f"cannot write {private_path}: the folder {private_path.parent} does not exist")
    key = Ed25519PrivateKey.generate()
    encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                  else serialization.NoEncryption())
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    _write_new(private_path, private_pem, 0o600)
    try:
        _write_new(public_path, public_pem, 0o644)
    except BaseException:
        private_path.unlink(missing_ok=True)
        raise
    return key_fingerprint(key.public_key().public_bytes(**_RAW))


def _write_new(path: Path, data: bytes, mode: int) -> None:
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
    except FileExistsError:
        raise UserError(f"{path} already exists: give a new file name (an old key is never overwritten)") from None
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror}") from None
    with os.fdopen(handle, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


class Signer:
    """The auditor's private key in memory: signs checkpoints. Its repr never shows the key."""

    def __init__(self, key: Ed25519PrivateKey):
        self._key = key
        self.public_key = key.public_key()
        self.fingerprint = key_fingerprint(self.public_key.public_bytes(**_RAW))

    def __repr__(self) -> str:
        return f"Signer(key {self.fingerprint[:16]})"

    def sign(self, seq: int, digest: str, count: int, signed_at: str) -> Checkpoint:
        unsigned = Checkpoint(seq, digest, count, signed_at, self.fingerprint, "")
        return Checkpoint(seq, digest, count, signed_at, self.fingerprint,
                          self._key.sign(unsigned.signed_bytes()).hex())

    def sign_cut(self, seq: int, digest: str, signed_at: str) -> Cut:
        """The auditor's permission to purge the trail up to event `seq` (console/domain/retention.py)."""
        return Cut(seq, digest, signed_at, self.fingerprint,
                   self._key.sign(cut_bytes(seq, digest, signed_at, self.fingerprint)).hex())


def load_signer(path: str | os.PathLike, passphrase: Callable[[], bytes | None] = lambda: None) -> Signer:
    """The signing key in `path`. `passphrase()` is asked only for a protected key (default: $RTIC_AUDIT_KEY_PASSPHRASE)."""
    path = Path(path)
    data = _read_key_file(path, "signing key")
    if os.name == "posix" and os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UserError(f"the signing key {path} can be read by other users: `chmod 600 {path}` (or make a new one)")
    secret = None
    if b"ENCRYPTED PRIVATE KEY" in data:
        secret = os.environ.get(ENV_PASSPHRASE, "").encode() or passphrase()
        if not secret:
            raise UserError(f"the signing key {path} is protected by a passphrase: type it, or set {ENV_PASSPHRASE}")
    try:
        key = serialization.load_pem_private_key(data, password=secret)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        if secret:
            raise UserError(f"the signing key {path} cannot be opened: wrong passphrase, or not a key file") from None
        raise UserError(f"{path} is not a private key file (PEM) made by `rtic-console audit keygen`") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(f"{path} is not an Ed25519 key: make one with `rtic-console audit keygen`")
    return Signer(key)


def load_public_key(path: str | os.PathLike) -> Ed25519PublicKey:
    """The auditor's public key in `path` (the .pub file `audit keygen` wrote)."""
    path = Path(path)
    data = _read_key_file(path, "public key")
    if b"PRIVATE KEY" in data:
        raise UserError(f"{path} is a PRIVATE key: give the public key ({path}.pub), and keep this file off consoles")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise UserError(f"{path} is not a public key file (PEM) made by `rtic-console audit keygen`") from None
    if not isinstance(key, Ed25519PublicKey):
        raise UserError(f"{path} is not an Ed25519 public key: use the .pub file `rtic-console audit keygen` wrote")
    return key


def _read_key_file(path: Path, what: str) -> bytes:
    try:
        if path.stat().st_size > 16_384:
            raise UserError(f"{path} is too large to be a {what} file")
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"there is no {what} file {path}") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder, not a {what} file") from None
    except OSError as exc:
        raise UserError(f"cannot read the {what} file {path}: {exc.strerror}") from None


def signature_holds(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(bytes.fromhex(checkpoint.signature), checkpoint.signed_bytes())
        return True
    except (InvalidSignature, ValueError):
        return False


# --- writing a checkpoint and verifying against them ------------------------------------------------------


@dataclass(frozen=True)
class Completeness:
    """What `audit verify` found: the chain walk, what the checkpoints and the guards say."""

    chain: VerifyResult
    findings: tuple[Finding, ...] = ()
    guards: tuple[str, ...] = ()
    checkpoints_checked: int = 0
    proven_to: int | None = None  # the newest event a good checkpoint covers and the chain still matches
    not_proven: str = ""  # why completeness could not be proven ("" when it was)
    fail_unproven: bool = False  # not_proven is itself a failure (a public key was given)

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.findings and not self.guards and not (self.not_proven and self.fail_unproven)

    def lines(self) -> list[str]:
        out = [self.chain.summary()]
        if self.checkpoints_checked and not self.findings:
            out.append(f"checkpoints: {self.checkpoints_checked} signed by the auditor's key hold; the trail is "
                       f"complete up to event {self.proven_to}")
        # A flood of forged rows must not bury the first finding: the first 50, then how many more.
        out += [finding.sentence for finding in self.findings[:50]]
        if len(self.findings) > 50:
            out.append(f"... and {len(self.findings) - 50} more findings like these (see --json)")
        out += self.guards
        if self.not_proven:
            out.append(self.not_proven)
        return out


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class CheckpointService:
    """Write checkpoints with a Signer, and check the trail against all of them with the public key."""

    def __init__(self, log: AuditLog, clock: Callable[[], datetime] | None = None):
        self.log = log
        self.clock = clock or _utcnow

    def checkpoint(self, signer: Signer, username: str, workstation: str) -> Checkpoint:
        """Sign the chain's head and store it, with an audit_checkpoint event right after it.

        The chain is walked first (from the newest checkpoint this key signed, whose event must still match), so
        a checkpoint never vouches for a broken chain: ChainNotSigned then says where it breaks.
        """
        walker = self._walk_since_last(signer)

        def sign(seq: int, digest: str, count: int) -> Checkpoint:
            return signer.sign(seq, digest, count, format_timestamp(self.clock()))

        def entry_for(cp: Checkpoint) -> AuditEntry:
            return AuditEntry(Action.AUDIT_CHECKPOINT, username, workstation, details=cp.as_dict())

        return write_checkpoint(self.log, walker, sign, entry_for)

    def _walk_since_last(self, signer: Signer) -> ChainWalker:
        begins = trail_start(self.log, signer.public_key, signer.fingerprint)
        mine = [cp for _id, cp in stored_checkpoints(self.log) if isinstance(cp, Checkpoint)
                and cp.key == signer.fingerprint and cp.seq > begins.floor and signature_holds(cp, signer.public_key)]
        if not mine:
            return self.log.walk(start=begins.start)
        last = max(mine, key=lambda cp: cp.seq)
        walker = ChainWalker(marks={last.seq})
        walker.expected_seq = last.seq
        first = True
        for rows in events_after(self.log, last.seq - 1):
            if first and rows[0][0] == last.seq:
                walker.prev_hash = rows[0][9]  # start the walk at the checkpointed event itself
            first = False
            if not walker.feed(rows):
                break
        if walker.hashes_at.get(last.seq) != last.hash:
            raise ChainNotSigned(f"no checkpoint was signed: event {last.seq} no longer matches the checkpoint signed "
                                 f"at {last.signed_at} (run `rtic-console audit verify --pubkey FILE`)")
        return walker

    def completeness(self, public_key: Ed25519PublicKey | None, role: str | None = None,
                     extra: Iterable[Checkpoint] = (), anchor: tuple[int, str] | None = None) -> Completeness:
        """Walk the chain and hold it to every checkpoint (stored, recorded in the trail, and `extra` ones kept
        apart from the database) and to `anchor`; report missing guards and, on PostgreSQL, privileges that let a
        console's role change the trail."""
        guards = tuple(guard_problems(self.log.database, role))
        if public_key is None:
            chain = self.log.verify(anchor, start=trail_start(self.log, None).start)
            return Completeness(chain, guards=guards, not_proven=(
                "completeness NOT proven: no auditor's public key (give --pubkey FILE or set audit_public_key), so "
                "only the chain was checked: a rewritten, cut-off or emptied trail would pass"))
        fingerprint = key_fingerprint(public_key.public_bytes(**_RAW))
        begins = trail_start(self.log, public_key, fingerprint)  # after a retention purge: from the signed cut
        findings: list[Finding] = list(begins.findings)
        good: dict[str, Checkpoint] = {}
        stored_signatures: set[str] = set()
        for row_id, cp in stored_checkpoints(self.log):
            if isinstance(cp, Checkpoint):
                stored_signatures.add(cp.signature)
            self._judge(cp, f"checkpoint {row_id}", public_key, fingerprint, findings, good)
        for record in self.log.query(AuditFilter(actions=(Action.AUDIT_CHECKPOINT,))):
            try:
                cp: Checkpoint | str = checkpoint_from(record.details)
            except (BadCheckpoint, ValueError) as exc:
                cp = str(exc)
            if isinstance(cp, Checkpoint) and cp.signature not in stored_signatures \
                    and signature_holds(cp, public_key):
                findings.append(Finding(record.seq, f"the checkpoint recorded in event {record.seq} (covering event "
                                                    f"{cp.seq}) is MISSING from the checkpoints table: it was removed"))
            self._judge(cp, f"the checkpoint recorded in event {record.seq}", public_key, fingerprint, findings, good)
        for cp in extra:
            self._judge(cp, f"the kept checkpoint of event {cp.seq}", public_key, fingerprint, findings, good)
        walker = self.log.walk(anchor, marks={cp.seq for cp in good.values()} | begins.marks, start=begins.start)
        chain = walker.result()
        last_seq = chain.last_seq if chain.ok else (walker.last_good_seq or None)
        broken_at = None if chain.ok else chain.first_bad_seq
        findings += compare(good.values(), last_seq, walker.hashes_at, broken_at, begins.floor, begins.cuts)
        findings += begins.reached(walker.hashes_at, broken_at)
        matching = [cp.seq for cp in good.values() if walker.hashes_at.get(cp.seq) == cp.hash or cp.seq == 0]
        not_proven = "" if good else (
            f"completeness NOT proven: no checkpoint signed by the auditor's key {fingerprint[:16]} was found "
            "(write one with `rtic-console audit checkpoint --key FILE`, or they were removed)")
        return Completeness(chain, tuple(sorted(findings, key=lambda f: (f.seq is None, f.seq or 0))), guards,
                            len(good), max(matching, default=None), not_proven, fail_unproven=True)

    @staticmethod
    def _judge(cp: Checkpoint | str, name: str, public_key: Ed25519PublicKey, fingerprint: str,
               findings: list[Finding], good: dict[str, Checkpoint]) -> None:
        if isinstance(cp, str):
            findings.append(Finding(None, f"{name} is MALFORMED ({cp}): it was changed"))
        elif cp.key != fingerprint:
            findings.append(Finding(cp.seq, f"{name} (event {cp.seq}) was signed by an UNKNOWN KEY {cp.key[:16]}, "
                                            f"not the auditor's key {fingerprint[:16]}"))
        elif not signature_holds(cp, public_key):
            findings.append(Finding(cp.seq, f"{name} (event {cp.seq}, signed at {cp.signed_at}) has a BAD SIGNATURE: "
                                            "it was forged or changed"))
        else:
            good[cp.signature] = cp

    def record_verify(self, result: Completeness, username: str, workstation: str,
                      anchor: tuple[int, str] | None = None) -> None:
        """The audit_verify event for a check (who checked, what was found)."""
        chain = result.chain
        details = {"ok": result.ok, "checked": chain.checked, "first_bad_seq": chain.first_bad_seq,
                   "last_seq": chain.last_seq, "last_hash": chain.last_hash,
                   "checkpoints": result.checkpoints_checked, "proven_to": result.proven_to,
                   "findings": [f.seq for f in result.findings][:100], "guards": len(result.guards),
                   "completeness_proven": not result.not_proven}
        if anchor is not None:
            details["anchor_seq"] = anchor[0]
        self.log.append(AuditEntry(Action.AUDIT_VERIFY, username, workstation,
                                   Outcome.OK if result.ok else Outcome.FAILED, details=details))

    def latest(self) -> Checkpoint | None:
        """The newest well-formed stored checkpoint (for the monthly report), without judging its signature."""
        found = [cp for _id, cp in stored_checkpoints(self.log) if isinstance(cp, Checkpoint)]
        return found[-1] if found else None


def read_kept_checkpoints(path: str | os.PathLike) -> list[Checkpoint]:
    """Checkpoint lines kept apart from the database (a printed monthly report, a file): every line that holds one."""
    path = Path(path)
    try:
        if path.stat().st_size > 10_000_000:
            raise UserError(f"{path} is too large to be a list of checkpoints")
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise UserError(f"there is no checkpoints file {path}") from None
    except OSError as exc:
        raise UserError(f"cannot read the checkpoints file {path}: {exc.strerror}") from None
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            cp = parse_line(line)
        except BadCheckpoint as exc:
            raise UserError(f"{path}, line {number}: the checkpoint is not readable ({exc})") from None
        if cp is not None:
            found.append(cp)
    return found
