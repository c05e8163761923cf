"""Known answers for the offline journal and the field copy (issue 20): the files checked in under tests/data/formats
(made once by tests/data/make_format_fixtures.py from fixed inputs) are read by the current code, and the current
code, given the same inputs, writes the same chain hashes and the same sealed header. A change of either format fails
here, so it has to come with a reader for the old files."""

from __future__ import annotations

import hashlib
import shutil
from datetime import timedelta

import pytest

from console.domain.audit import Action, format_timestamp
from console.services.field_copy import FieldCopy
from console.services.field_copy_file import FieldSeal, WrongPassword, sealed_bytes
from console.services.field_login import FieldAuthService
from console.services.resilience import ResilientAudit
from console.store import journal_chain as chain
from console.store.audit import AuditLog
from console.store.db import open_database
from console.store.journal import JOURNAL_SEQ, AuditJournal
from tests.data import make_format_fixtures as kat

# The chain hashes of the three journaled events, and the checked-in files' SHA-256 (a regenerated file must be
# a deliberate change of these lines too).
JOURNAL_HASHES = [
    "5c58b7e8927da4aa639e7612033a232adbb5d039475f54978b7f60b7c8ee2190",
    "c392267cd0dc14b9a12e1d03c94f0e39bdfc110b36cba8369784e6375f576a07",
    "f489f4e96ca02f7e23fef85702dc446ef1aa4a6c9b6732a71a2d2a38a884cda5",
]
GENESIS = "e82b6be0f392e3994cacb20acafd6caa5a423018da62770ee7a44e3cf3fa19e8"
JOURNAL_FILE_SHA256 = "d62c2280013b68e9f384622e4c3983d074315e83d11dbab7f0c355ada7b85d94"
FIELD_COPY_FILE_SHA256 = "71d919c333b2b028bdafbd88d32d42693bf4e051b4b6ab4e445bde45f9bc7acd"
FIELD_COPY_HEADER_SHA256 = "7860cc55807908cc71cfc53124396fcd1e214dbfa106f064b4eec6a202b0d679"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_checked_in_files_are_the_known_ones():
    assert sha256(kat.JOURNAL.read_bytes()) == JOURNAL_FILE_SHA256
    assert sha256(kat.FIELD_COPY.read_bytes()) == FIELD_COPY_FILE_SHA256


def test_the_chain_of_the_fixed_events_has_the_known_hashes():
    """The current code's canonical form and hash, from the fixed inputs, without the file."""
    assert chain.genesis(kat.WORKSTATION, 0) == GENESIS
    prev, got = GENESIS, []
    for jseq, (entry, at) in enumerate(kat.journal_events(), start=1):
        prev = chain.entry_hash(prev, jseq, chain.canonical_event(entry.details["journal_id"], format_timestamp(at),
                                                                  entry))
        got.append(prev)
    assert got == JOURNAL_HASHES


def test_the_fixed_journal_file_is_read_checked_and_flushed_by_the_current_code(tmp_path):
    path = tmp_path / "audit-journal.db"
    shutil.copyfile(kat.JOURNAL, path)  # the journal tightens and writes its file: never the one in the tree
    journal = AuditJournal(path)
    entries = journal.entries()
    assert [(e.jseq, e.hash) for e in entries] == list(enumerate(JOURNAL_HASHES, start=1))
    assert [e.journal_id for e in entries] == list(kat.JOURNAL_IDS)
    assert entries[2].entry.details["duration_s"] == 840 and entries[1].occurred_at == "2026-11-24T10:42:30.000Z"
    heads = journal.heads()
    assert chain.findings(kat.WORKSTATION, [e.link() for e in entries], heads[kat.WORKSTATION], None) == []

    database = open_database(f"sqlite:///{tmp_path / 'registry.db'}", create=True)
    try:
        result = journal.flush(AuditLog(database))
        assert (result.appended, result.tampered) == (3, ())
        events = AuditLog(database).query()
        assert [(e.action, e.details[JOURNAL_SEQ]) for e in events] == [
            (Action.SEARCH_NEAR, 1), (Action.VIEW_START, 2), (Action.VIEW_END, 3)]
        assert AuditLog(database).verify().ok
    finally:
        database.close()


def test_the_fixed_field_copy_opens_with_its_password_and_only_with_it(tmp_path):
    copy = FieldCopy(kat.FIELD_COPY)
    header = copy.header()
    assert (header.username, header.made_at) == (kat.USERNAME, kat.MADE_AT.isoformat())
    assert (header.params, header.salt) == (kat.kdf(), kat.SALT)
    with pytest.raises(WrongPassword):
        copy.open("not the passphrase")
    with copy.open(kat.PASSWORD) as field:
        assert field.info.username == kat.USERNAME and field.info.counts["cameras"] == 1
        [camera] = field.nearby(39.95, -75.16, 100.0)
        assert camera.label == kat.CAMERA_LABEL


def test_the_current_code_seals_the_fixed_inputs_to_the_same_header():
    """The writer's side: the same salt, costs, data key and nonces give byte for byte the checked-in header."""
    sealed = kat.FIELD_COPY.read_bytes()
    header = FieldCopy(kat.FIELD_COPY).header()
    assert sha256(header.raw) == FIELD_COPY_HEADER_SHA256
    seal = FieldSeal.from_password(kat.PASSWORD, kat.kdf(), kat.SALT)
    again = sealed_bytes({"any": "meta"}, b"any registry", seal, kat.USERNAME, kat.MADE_AT.isoformat(),
                         data_key=kat.DATA_KEY, nonces=kat.NONCES)
    assert again[:len(header.raw)] == sealed[:len(header.raw)]


def test_the_fixed_field_copy_signs_its_user_in_offline(sqlite_url, tmp_path):
    """The account inside the file (its argon2 password hash) still works with the current sign-in."""
    database = open_database(sqlite_url, create=True)
    try:
        sink = ResilientAudit(AuditLog(database), AuditJournal(tmp_path / "journal.db"))
        auth = FieldAuthService(FieldCopy(kat.FIELD_COPY), sink, workstation=kat.WORKSTATION)
        session = auth.login(kat.USERNAME, kat.PASSWORD, kat.MADE_AT + timedelta(hours=2), notice_acknowledged=True)
        assert session.user.username == kat.USERNAME
        auth.field.close()
    finally:
        database.close()
