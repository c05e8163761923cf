"""`rtic-console audit keygen|checkpoint` and the checkpoint half of `audit verify`: the auditor's signed proof.

`keygen` makes the auditor's Ed25519 key pair (FILE and FILE.pub); `checkpoint --key FILE` signs the chain's head;
`verify --pubkey FILE` holds the chain to every checkpoint, and reports missing guards and loose privileges.
"""

from __future__ import annotations

import getpass
import json
import os
import sys

from console.errors import UserError
from console.cli import signin
from console.domain.users import Permission
from console.services.accounts import default_workstation, operator_name
from console.services.audit_checkpoints import (
    ENV_PASSPHRASE,
    CheckpointService,
    keygen,
    load_public_key,
    load_signer,
    read_kept_checkpoints,
)
from console.settings import load_settings
from console.store.audit import AuditLog
from console.store.db import open_database


def acting_user(args) -> str:
    """Who ran `audit verify` (a read-only check that runs without a console account): the operating-system user."""
    return operator_name()


def register(actions, common) -> None:
    gen = actions.add_parser("keygen", parents=[common],
                             help="make the auditor's Ed25519 key pair for signed checkpoints (FILE and FILE.pub)")
    gen.add_argument("--out", required=True, metavar="FILE", help="the private key file to write (never overwritten)")
    gen.add_argument("--passphrase", action="store_true",
                     help=f"protect the private key with a passphrase (asked twice, or ${ENV_PASSPHRASE})")
    gen.set_defaults(func=_keygen)

    point = actions.add_parser("checkpoint", parents=[common],
                               help="sign the audit chain's head with the auditor's key and store the checkpoint")
    point.add_argument("--key", metavar="FILE", help="the auditor's private key (default: the audit_signing_key setting)")
    point.add_argument("--json", action="store_true", help="print the checkpoint as one JSON object")
    signin.add_user_option(point)
    point.set_defaults(func=_checkpoint)


def add_verify_options(verify) -> None:
    verify.add_argument("--pubkey", metavar="FILE",
                        help="the auditor's public key (FILE.pub; default: the audit_public_key setting), to hold the "
                             "chain to every signed checkpoint")
    verify.add_argument("--checkpoints", metavar="FILE",
                        help="checkpoint lines kept apart from the database (e.g. the monthly reports), also held to")
    verify.add_argument("--role", metavar="ROLE",
                        help="PostgreSQL: the consoles' login role (as given to `db grant --role`), whose privileges "
                             "on the trail are checked (default: every login role but superusers and the owner)")


def _ask(prompt: str) -> bytes | None:
    if not sys.stdin.isatty():
        return None
    try:
        return getpass.getpass(prompt).encode("utf-8") or None
    except (EOFError, KeyboardInterrupt):
        return None


def _keygen(args) -> int:
    passphrase = None
    if args.passphrase:
        passphrase = os.environ.get(ENV_PASSPHRASE, "").encode("utf-8") or None
        if passphrase is None:
            first = _ask("Passphrase for the new signing key: ")
            if first is None:
                raise UserError(f"--passphrase needs a terminal to type it into, or ${ENV_PASSPHRASE}")
            if _ask("The same passphrase again: ") != first:
                raise UserError("the two passphrases differ: nothing was written")
            passphrase = first
        if len(passphrase) < 12:
            raise UserError("the passphrase is shorter than 12 characters: choose a longer one (nothing was written)")
    fingerprint = keygen(args.out, passphrase)
    print(json.dumps({"private_key": args.out, "public_key": f"{args.out}.pub", "fingerprint": fingerprint,
                      "protected": passphrase is not None}))
    print(f"keep {args.out} off the consoles (the auditor's or a signing server's only); give {args.out}.pub to "
          "whoever runs `audit verify`", file=sys.stderr)
    return 0


def _checkpoint(args) -> int:
    path = args.key or load_settings().audit_signing_key
    if not path:
        raise UserError("give the auditor's private key with --key FILE (or set audit_signing_key)")
    signer = load_signer(path, lambda: _ask(f"Passphrase for {path}: "))
    with open_database(args.db) as database:
        # The auditor signs in as well as holding the key: the checkpoint event names a person, not only a key.
        signed = signin.sign_in(args, database, "audit checkpoint", Permission.AUDIT_EXPORT)
        checkpoint = CheckpointService(signed.audit).checkpoint(signer, signed.name, signed.workstation)
    print(json.dumps(checkpoint.as_dict()) if args.json else checkpoint.line())
    return 0


def verify_with_checkpoints(args, anchor) -> int:
    """`audit verify`: the chain, every checkpoint, the guards; exit 1 when any of them says the trail was changed."""
    path = args.pubkey or load_settings().audit_public_key
    public_key = load_public_key(path) if path else None
    kept = read_kept_checkpoints(args.checkpoints) if args.checkpoints else []
    if kept and public_key is None:
        raise UserError("--checkpoints needs the auditor's public key (--pubkey FILE) to check their signatures")
    with open_database(args.db) as database:
        service = CheckpointService(AuditLog(database))
        result = service.completeness(public_key, args.role, kept, anchor)
        service.record_verify(result, acting_user(args), default_workstation(), anchor)
    chain = result.chain
    if args.json:
        print(json.dumps({"ok": result.ok, "checked": chain.checked, "first_bad_seq": chain.first_bad_seq,
                          "reason": chain.reason, "last_seq": chain.last_seq, "last_hash": chain.last_hash,
                          "checkpoints": result.checkpoints_checked, "proven_to": result.proven_to,
                          "findings": [{"seq": f.seq, "sentence": f.sentence} for f in result.findings],
                          "guards": list(result.guards), "not_proven": result.not_proven}))
    else:
        print("\n".join(result.lines()))
    if not chain.ok:
        print(f"rtic-console: the audit log was tampered with: first broken event {chain.first_bad_seq}",
              file=sys.stderr)
        return 1
    if not result.ok:
        seqs = [f.seq for f in result.findings if f.seq is not None]
        where = f": first at event {min(seqs)}" if seqs else ""
        print(f"rtic-console: the audit trail cannot be trusted{where} (see the lines above)", file=sys.stderr)
        return 1
    return 0
