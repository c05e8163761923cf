"""SQLAlchemy 2 models: the registry (owners, sites, cameras, streams), grants, incidents, users and the audit log.

The tables are created by the Alembic migrations in `migrations/versions`, never by `create_all`; keep the
two in step (tests/store/test_migrations.py compares them). Owner contact and stream credentials are
stored only as AES-256-GCM ciphertext (see console/store/secrets.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from console.store.types import UTCDateTime


class Base(DeclarativeBase):
    pass


class OwnerRow(Base):
    __tablename__ = "owners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    portal_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # JSON {name, organisation, phone, email, address}, AES-256-GCM; NULL once the owner asked to be erased.
    contact_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Keyed HMACs of the normalised phone and email, so duplicates are found without decrypting anything.
    phone_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    email_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class SiteRow(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class CameraRow(Base):
    __tablename__ = "cameras"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"), index=True)
    portal_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    capability: Mapped[str] = mapped_column(String(16))
    sharing_mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    placement: Mapped[str] = mapped_column(String(16), default="outside")
    fov_bearing_deg: Mapped[float | None] = mapped_column(Float)
    fov_angle_deg: Mapped[float | None] = mapped_column(Float)
    fov_range_m: Mapped[float | None] = mapped_column(Float)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_channel: Mapped[str | None] = mapped_column(String(16))
    consent_taken_by: Mapped[str | None] = mapped_column(String(100))
    consent_wording: Mapped[str | None] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # SHA-256 of the camera's (or its gateway's) TLS certificate, 64 hex digits: a self-signed RTSPS/HTTPS
    # certificate is accepted only when it is exactly this one. Not a secret.
    tls_pin_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class StreamRow(Base):
    __tablename__ = "streams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"), index=True)
    protocol: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(8))
    url: Mapped[str] = mapped_column(String(1000))  # never with credentials in it
    credential_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)


class ShareGrantRow(Base):
    __tablename__ = "share_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    source: Mapped[str] = mapped_column(String(16))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The alert's id at the registry portal (feed), so the same alert received twice makes one grant.
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    # A panic-button or app alert opens an "owner alert" incident (closed when the alert ends or by a dispatcher);
    # the dispatcher who acknowledged the alert's bar, and when.
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))


class IncidentRow(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cad_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    priority: Mapped[int] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(300))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    source: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The CAD system's own status word (dispatched, on scene, ...) and when CAD last changed the incident.
    cad_status: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The units CAD names on the incident (JSON list of unit ids; None: CAD named none or the console opened it).
    cad_units: Mapped[str | None] = mapped_column(Text)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lock_reason: Mapped[str | None] = mapped_column(String(32))  # failed_logins | admin
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When an administrator last lifted a lock or a disuse disablement: the 90-day disuse clock restarts here.
    reenabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last TOTP time step accepted, so a code seen over a shoulder cannot be replayed.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Where the account comes from: "local" (the console's own password) or "directory" (made and updated at each
    # directory sign-in: its password is the directory's, its role comes from its groups).
    source: Mapped[str] = mapped_column(String(16), default="local", server_default="local")
    directory_dn: Mapped[str | None] = mapped_column(String(500))
    # The local administrator who can still sign in when the directory is away (auth = "ldap").
    break_glass: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class SignInRow(Base):
    """What signing in writes about an account, kept apart from the account itself: on PostgreSQL the consoles'
    role may write this table but not `users` (`db grant`), so a console can count failures, lock after too many,
    note the last sign-in and the TOTP step, and keep a password the user chose, but never change a role, lift an
    administrator's lock or add an account. The account as the console sees it joins both (console/store/users.py).
    """

    __tablename__ = "sign_ins"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # locked after too many failed sign-ins
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # found unused for 90 days at a sign-in
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    # A password the user chose (or a rehash of it); an administrator's reset clears it, and the users row's wins.
    password_hash: Mapped[str | None] = mapped_column(String(200))


class LoginFailureRow(Base):
    """Failed logins, counted over a sliding window for the lockout rule."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    workstation: Mapped[str] = mapped_column(String(100))


class PasswordMatchRow(Base):
    """PostgreSQL: that rtic_password_matches found the password right in the transaction `txid` (migration 0015), so
    that rtic_record_login and rtic_use_totp_step may act for the account; only the tables' owner reads or writes it."""

    __tablename__ = "password_matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    txid: Mapped[int] = mapped_column(BigInteger)


class ViewSessionRow(Base):
    __tablename__ = "view_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"), index=True)
    stream_id: Mapped[int | None] = mapped_column(ForeignKey("streams.id"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    cad_number: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    workstation: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))


class AuditEventRow(Base):
    """Append-only, hash-chained; triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL)."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False)
    occurred_at: Mapped[str] = mapped_column(String(32))  # ISO 8601 UTC, milliseconds: hashed as written
    username: Mapped[str] = mapped_column(String(64))
    workstation: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(48), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    camera_id: Mapped[int | None] = mapped_column(Integer, index=True)
    incident_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[str] = mapped_column(Text)  # canonical JSON; never contact details or credentials
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


Index("ix_audit_events_occurred_at", AuditEventRow.occurred_at)
Index("ix_incidents_open", IncidentRow.closed_at, IncidentRow.opened_at)


# --- 0002: many workstations, registry operations ---------------------------------------------------


class ChangeRow(Base):
    """One committed change to the shared registry, in commit order; what other consoles follow.

    Written in the same transaction as the change itself (console/store/changes.py), so a change and its
    notice commit or roll back together. PostgreSQL consoles also get a NOTIFY on commit.
    """

    __tablename__ = "changes"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))  # camera | owner | site | grant | incident | footage | registry
    record_id: Mapped[int | None] = mapped_column(Integer)
    workstation: Mapped[str] = mapped_column(String(100))


class RegistryHistoryRow(Base):
    """Who changed what on an owner, site or camera, and when: old and new value of each field.

    Contact fields are recorded as changed without their values (the values are personal data and an
    erased owner's contact must be gone, not kept in a history).
    """

    __tablename__ = "registry_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    username: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(16))  # owner | site | camera
    entity_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(48))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)


class OutreachCallRow(Base):
    """A community-outreach call to a business or resident: who was called, when, and what came of it."""

    __tablename__ = "outreach_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    business: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    # The number called, AES-256-GCM like every contact; the digest finds an owner with the same phone.
    phone_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_digest: Mapped[str | None] = mapped_column(String(64), index=True)
    called_at: Mapped[datetime] = mapped_column(UTCDateTime)
    staff: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # registered | declined | call_back | no_answer
    call_back_on: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id"))


class FootageRequestRow(Base):
    """A request to one owner for recorded footage of some of their cameras, for an incident and time window."""

    __tablename__ = "footage_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"), index=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # open | agreed | declined | no_answer | overwritten | received
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class FootageRequestCameraRow(Base):
    __tablename__ = "footage_request_cameras"

    request_id: Mapped[int] = mapped_column(ForeignKey("footage_requests.id"), primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"), primary_key=True)


class FootageContactRow(Base):
    """One attempt to reach the owner about a footage request, and its outcome."""

    __tablename__ = "footage_contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("footage_requests.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    username: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))  # phone | email | in_person | portal
    outcome: Mapped[str] = mapped_column(String(16))  # agreed | declined | no_answer | overwritten | left_message
    note: Mapped[str] = mapped_column(Text, default="")


class EvidenceFileRow(Base):
    """A footage file received from an owner: hashed on arrival, kept where the agency's evidence store is."""

    __tablename__ = "evidence_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("footage_requests.id"), index=True)
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id"))
    file_name: Mapped[str] = mapped_column(String(300))
    stored_path: Mapped[str] = mapped_column(String(1000))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    received_by: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FeedCursorRow(Base):
    """Where a registry feed or CAD source left off: its cursor and ETag, so a restart resumes."""

    __tablename__ = "feed_cursors"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(String(300))
    etag: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


Index("ix_sites_lat_lon", SiteRow.lat, SiteRow.lon)
Index("ix_registry_history_entity", RegistryHistoryRow.entity, RegistryHistoryRow.entity_id)


# --- 0003: one contact key per agency -------------------------------------------------------------


class KeyCheckRow(Base):
    """The agency's contact key, proven without the key: its id and an HMAC of a fixed label under it (one row, id 1).

    A console whose key gives another value refuses to start (console/store/key_check.py). While a rotation runs,
    the new key's id and check value sit beside the old ones.
    """

    __tablename__ = "key_check"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16))
    check_value: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    workstation: Mapped[str] = mapped_column(String(100))
    next_key_id: Mapped[str | None] = mapped_column(String(16))
    next_check_value: Mapped[str | None] = mapped_column(String(64))
    rotation_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rotation_started_by: Mapped[str | None] = mapped_column(String(64))


class KeyRotationRow(Base):
    """A key rotation's progress in one table: the last row id re-encrypted, so a rotation cut short resumes there."""

    __tablename__ = "key_rotation"

    table_name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)


# --- 0004: signed audit checkpoints ---------------------------------------------------------------


class AuditCheckpointRow(Base):
    """An auditor's signature over the audit chain's head (console/domain/checkpoints.py). Append-only like the
    trail: triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL). Never holds the private key."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))  # newest event covered
    hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    signed_at: Mapped[str] = mapped_column(String(32))  # ISO 8601 UTC, milliseconds: signed as written
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))


# --- 0005: what the server received from each workstation's offline journal ------------------------------


class JournalSequenceRow(Base):
    """Per workstation, the last offline-journal entry the audit trail received (its sequence and chained hash),
    so the next contact can tell a journal that was cut short, edited or replaced (console/store/journal.py).
    `reported` lists the journal findings already written as journal_tampered events (JSON), so none is doubled."""

    __tablename__ = "journal_sequences"

    workstation: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    last_hash: Mapped[str] = mapped_column(String(64))
    reported: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


# --- 0011: retention ------------------------------------------------------------------------------


class LegalHoldRow(Base):
    """A legal hold on an incident, a footage request or a camera: nothing under it is purged until it is released."""

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_kind: Mapped[str] = mapped_column(String(16))  # incident | footage_request | camera
    target_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    held_by: Mapped[str] = mapped_column(String(64))
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(64))
    release_reason: Mapped[str | None] = mapped_column(Text)


Index("ix_legal_holds_target", LegalHoldRow.target_kind, LegalHoldRow.target_id)


class AuditCutRow(Base):
    """The auditor's signature over the event at which the audit trail is cut (console/domain/retention.py): the
    events up to `seq` may be purged, and `audit verify` starts the rest from `hash`. Append-only."""

    __tablename__ = "audit_cuts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[str] = mapped_column(String(32))
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    run_id: Mapped[int | None] = mapped_column(Integer)


class RetentionRunRow(Base):
    """One `retention run`: the moment it judges what is due by (`now`, kept so a resumed run purges the same), its
    counts so far (JSON by kind) and what it found (missing files), and whether it finished."""

    __tablename__ = "retention_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    now: Mapped[datetime] = mapped_column(UTCDateTime)
    username: Mapped[str] = mapped_column(String(64))
    workstation: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))  # running | finished
    counts: Mapped[str] = mapped_column(Text)
    problems: Mapped[str] = mapped_column(Text)


class BulletinRow(Base):
    """An incident bulletin: what a person sent the officers responding (text, a snapshot, a short clip), hashed.
    The attachments live in the row so every console can show them and any console can deliver the e-mail."""

    __tablename__ = "bulletins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    sent_by: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    workstation: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(200))
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id"))
    content_sha256: Mapped[str] = mapped_column(String(64))
    image: Mapped[bytes | None] = mapped_column(LargeBinary)
    image_type: Mapped[str | None] = mapped_column(String(32))
    clip: Mapped[bytes | None] = mapped_column(LargeBinary)
    clip_type: Mapped[str | None] = mapped_column(String(32))
    # So lists need not read the clip itself (megabytes): its hash and size beside it.
    clip_sha256: Mapped[str | None] = mapped_column(String(64))
    clip_size: Mapped[int | None] = mapped_column(BigInteger)


class BulletinRecipientRow(Base):
    """One e-mail copy of a bulletin in the outbox: its address, delivery state and the claim that keeps two
    consoles from sending it twice (state, claimed_by, claimed_at are changed only by compare-and-set)."""

    __tablename__ = "bulletin_recipients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bulletin_id: Mapped[int] = mapped_column(ForeignKey("bulletins.id"), index=True)
    address: Mapped[str] = mapped_column(String(254))
    group_name: Mapped[str | None] = mapped_column(String(60))
    state: Mapped[str] = mapped_column(String(16), index=True)  # queued | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecipientGroupRow(Base):
    """A saved list of addresses ("Patrol sector 2"); members as a JSON list, replaced whole on each change."""

    __tablename__ = "recipient_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    members: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
