"""`verify` on SQLite hashes the canonical form SQLite builds (json_quote in SQL): it must be byte for byte the form
the appending console hashed, for any text an event can hold. (PostgreSQL sends the columns; Python builds the form.)"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.domain.audit import Action, AuditEntry, canonical_form
from console.errors import UserError
from console.store.audit import FORM_COLUMNS, AuditLog, _batches
from console.store.db import open_database

# Every character an event may hold: control characters, quotes, backslashes, non-ASCII and astral planes
# (NUL and lone surrogates are refused at append).
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=12)
_AWKWARD = ["\"quoted\" \\ back\\slash", "tab\there\nnew\rline\b\f", "\x01\x1f\x7f", "café ☕ 𝄞 مرحبا", "/ </script>"]


@pytest.fixture
def database(sqlite_url):
    """SQLite only: the backend whose verify hashes forms built in SQL."""
    with open_database(sqlite_url, create=True) as database:
        yield database


def _entry(text: str, i: int) -> AuditEntry:
    return AuditEntry(Action.SEARCH_NEAR, f"u{text}"[:64], f"ws {text}"[:100], outcome="ok",
                      camera_id=None if i % 2 else i, incident_id=i if i % 3 else None,
                      details={"reason": text, "n": i, text: [text, 1.5, None, True]})


def _check_forms(database):
    log = AuditLog(database)
    assert log.verify().ok
    stored = {record.seq: record for record in log.query()}
    with database.engine.connect() as conn:
        forms = [row for rows in _batches(conn, FORM_COLUMNS, 7) for row in rows]
    assert [seq for seq, *_ in forms] == sorted(stored)
    for seq, form, prev_hash, digest in forms:
        record = stored[seq]
        assert bytes(form) == canonical_form(record.seq, record.occurred_at, record.username, record.workstation,
                                             record.action, record.outcome, record.camera_id, record.incident_id,
                                             record.details_json, record.prev_hash)
        assert (prev_hash, digest) == (record.prev_hash, record.hash)


def test_the_database_builds_the_form_the_console_hashed(database):
    log = AuditLog(database)
    for i, text in enumerate(_AWKWARD + [chr(c) for c in range(1, 32)]):
        log.append(_entry(text, i))
    _check_forms(database)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(_TEXT, min_size=1, max_size=4))
def test_any_text_verifies(database, texts):
    log = AuditLog(database)
    for i, text in enumerate(texts):
        try:
            log.append(_entry(text, i))
        except UserError:  # refused at append (a credential-like key, an e-mail address): never stored
            pass
    _check_forms(database)
