"""Console settings, declared once (title, default, description) and read from a machine and a per-user TOML file.

The machine file (an administrator's: tile server, geocoder) is read first, then the user's file overrides it, with
two limits: a setting that is policy (how long a live view lasts, the idle lock, the footage window, ...) may only be
made stricter by the user's file, and the machine file can lock any setting (`locked = ["tile_url", ...]`) so the
user's file cannot change it at all. A refused value is logged and kept out; `config show` says why.
Each path can be moved with an environment variable so tests and kiosks get settings of their own.
"""

from __future__ import annotations

import json
import logging
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import platformdirs

from console.errors import UserError
from console.paths import APP_AUTHOR, APP_NAME

ENV_MACHINE_FILE = "RTIC_MACHINE_SETTINGS"
ENV_USER_FILE = "RTIC_USER_SETTINGS"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Setting:
    key: str
    title: str
    default: Any
    description: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    secret: bool = False  # shown masked (`config show`)
    # Policy: "at_most" (the user's file may only lower it), "at_most_nonzero" (the same, where 0 means "no limit"),
    # "at_least" (the user's file may only raise it: how long proof is kept), "machine" (only the machine file may
    # set it); "" for a preference the user may set freely.
    policy: str = ""

    def tighter_or_equal(self, value: Any, baseline: Any) -> bool:
        """Whether `value` is at least as strict as `baseline` under this setting's policy."""
        if self.policy == "at_most":
            return value <= baseline
        if self.policy == "at_most_nonzero":
            return value != 0 and (baseline == 0 or value <= baseline)
        if self.policy == "at_least":
            return value >= baseline
        if self.policy == "machine":
            return value == baseline
        return True

    @property
    def policy_rule(self) -> str:
        return {"at_most": "may only be lowered by a user's file",
                "at_most_nonzero": "may only be lowered (not turned off) by a user's file",
                "at_least": "may only be raised by a user's file",
                "machine": "set only in the machine file"}.get(self.policy, "")


DECLARED: tuple[Setting, ...] = (
    Setting("tile_url", "Tile server URL", "",
            "XYZ/WMTS URL template of the agency's tile server, e.g. https://tiles.example.gov/{z}/{x}/{y}.png. "
            "Public OSM tiles only with attribution and an identifying User-Agent. Empty: no online tiles."),
    Setting("tile_attribution", "Tile attribution", "",
            "Attribution shown on the map for the tiles from tile_url (required for OpenStreetMap tiles)."),
    Setting("mbtiles_path", "Offline tiles (MBTiles)", "",
            "An MBTiles file for laptops with no network; used instead of tile_url when set."),
    Setting("streets_geojson", "Streets (GeoJSON)", "",
            "Road centerlines as a GeoJSON file (the NENA NG9-1-1 road centerline layer, or any LineStrings with a "
            "'name'), drawn with street names when no tile server or MBTiles file is set. The demo sets its own."),
    Setting("geocoder_kind", "Geocoder kind", "nominatim",
            "Which protocol the geocoder speaks.", choices=("nominatim", "pelias", "arcgis", "census")),
    Setting("geocoder_url", "Geocoder URL", "",
            "Base URL of the agency's geocoder (e.g. https://nominatim.example.gov). Empty: addresses cannot be "
            "looked up, coordinates and map clicks still work."),
    Setting("geocoder_api_key", "Geocoder API key", "", "API key for Pelias or ArcGIS, when the service needs one.",
            secret=True),
    Setting("geocoder_min_interval_s", "Geocoder request spacing (s)", 1.0,
            "At least this many seconds between two geocoder requests (Nominatim usage policy: 1).", minimum=0.0),
    Setting("geocoder_timeout_s", "Geocoder timeout (s)", 5.0, "Give up on a geocoder answer after this long.",
            minimum=0.5),
    Setting("service_area", "Service area", "",
            "The agency's area: a box south,west,north,east in degrees (e.g. 42.11,-72.66,42.21,-72.51) or the path "
            "of a GeoJSON file (Polygon, MultiPolygon, or a Feature/FeatureCollection of them). A geocoder answer "
            "outside it is only taken when the user confirms it; a CAD point outside it is rejected. Empty: no "
            "area, nothing is checked.", policy="machine"),
    Setting("user_agent", "User-Agent", "CommunityConnectConsole/0.1 (police RTIC console)",
            "Identifying User-Agent sent to the geocoder and tile servers, as their usage policies require."),
    Setting("search_radius_m", "Search radius (m)", 300.0, "Default radius around an incident.", minimum=10.0),
    Setting("nearest_live_n", "Nearest live cameras", 4, "How many live-now cameras 'open nearest live' opens.",
            minimum=1),
    Setting("theme", "Theme", "dark", "Colour theme: dark for a dim control room, light for daylight.",
            choices=("dark", "light")),
    Setting("font_size_pt", "Font size (pt)", 10,
            "Text size of the whole window, 8 to 24 points: larger for a dark room read from two metres.",
            minimum=8),
    Setting("idle_lock_minutes", "Idle lock (minutes)", 30,
            "Lock the console after this long with no input; 0 turns the lock off (a dispatch position in a secure "
            "room).", minimum=0, policy="at_most_nonzero"),
    Setting("live_view_max_minutes", "Live view limit (minutes)", 15, "A live view stops after this long.",
            minimum=1, policy="at_most"),
    Setting("evidence_dir", "Evidence folder", "",
            "Where footage received from owners is copied and hashed (the agency's evidence store). Empty: the "
            "'evidence' folder in the user's data folder."),
    Setting("footage_max_window_hours", "Footage request window (hours)", 2.0,
            "The longest time window one footage request may ask an owner for.", minimum=0.25, policy="at_most"),
    Setting("footage_max_area_radius_m", "Footage request area limit (m)", 2000.0,
            "The largest area one footage request may cover: a circle of at most this radius, or a drawn area no "
            "larger than such a circle. A request to every owner in the city is not a footage request.",
            minimum=10.0, policy="at_most"),
    Setting("cad_watch_folder", "CAD drop folder", "",
            "A folder CAD writes NENA EIDO or CSV/JSON export files into; taken files move to processed/ or "
            "rejected/. Empty: no folder is watched."),
    Setting("cad_poll_url", "CAD endpoint URL", "",
            "An HTTP(S) URL answering one EIDO or a JSON list of EIDOs, polled with ETag/Last-Modified. Empty: none."),
    Setting("cad_poll_interval_s", "CAD polling interval (s)", 5.0, "How often the CAD folder and endpoint are read.",
            minimum=1.0),
    Setting("cad_auto_offer", "Offer cameras for urgent CAD incidents", True,
            "When an urgent incident arrives from CAD, put it on the map and offer its nearest live cameras at once."),
    Setting("cad_auto_offer_priority", "Urgent CAD priority", 1,
            "CAD incidents of this priority or more urgent (1 is the most urgent) are offered at once.", minimum=1),
    Setting("feed_url", "Registry feed URL", "",
            "Base URL of a registration portal's registry feed (GET URL/changes), followed in the background while "
            "the console runs. Empty: no feed (one workstation or a server should follow it, not every console)."),
    Setting("feed_interval_s", "Registry feed interval (s)", 60.0, "How often the registry feed is read.",
            minimum=5.0),
    Setting("feed_token_env", "Registry feed token variable", "RTIC_FEED_TOKEN",
            "The NAME of the environment variable holding the feed's bearer token (the token itself is never put "
            "in a settings file)."),
    Setting("field_copy", "Field copy", "off",
            "auto: keep this computer's encrypted field copy of the registry in step while online (after sign-in, "
            "then every field_copy_refresh_min minutes), for detectives' laptops; off: RTIC workstations.",
            choices=("off", "auto")),
    Setting("field_copy_refresh_min", "Field copy refresh (minutes)", 30,
            "With field_copy = auto, how often the field copy is made again while the database answers.", minimum=1),
    Setting("field_copy_max_age_days", "Field copy age limit (days)", 7,
            "With no connection, the console starts on the field copy only if it is at most this many days old; "
            "an older copy is refused (sync it again while online); searches and live views decided on the copy "
            "stop at the same age.", minimum=1, policy="at_most"),
    Setting("offline_data_max_age_hours", "Offline data age limit (hours)", 12.0,
            "While the database is away, a live view may be decided on the registry data this console last read "
            "only if that data is at most this many hours old; older data opens nothing.", minimum=0.25,
            policy="at_most"),
    Setting("first_frame_timeout_s", "First-frame deadline (s)", 12.0,
            "How long a live view waits for a camera's first key frame after connecting (meanwhile it says "
            "\"waiting for the camera's first key frame\"); the stall timer starts only after that first picture. "
            "Allow the longest key-frame interval the cameras use (\"smart\" codecs: up to 10 s).", minimum=1.0),
    Setting("rtsps_ca_file", "RTSPS CA file", "",
            "A PEM file of the certificate authorities that sign the cameras' and gateways' RTSPS/HTTPS "
            "certificates, trusted beside the system's own. A certificate that verifies against neither (and is not "
            "pinned for its camera) is refused: the stream is not opened. Empty: the system's CAs only."),
    Setting("hw_decode", "Hardware video decoding", "auto",
            "auto: the FFmpeg player decodes on the graphics hardware where FFmpeg can use it (VA-API or NVDEC on "
            "Linux, D3D11VA or NVDEC on Windows) and falls back to software, once per stream, when it cannot; "
            "off: software decoding only.", choices=("auto", "off")),
    Setting("demo_gateway", "Demo gateway", "auto",
            "auto: on the demo registry (demo cameras and nothing else), a gateway on this computer's loopback plays "
            "the demo's live cameras (synthetic street scenes over WebRTC and HLS, and a training site whose "
            "cameras fail on purpose); off: never. A real registry never starts it.", choices=("auto", "off")),
    Setting("time_zone", "Time zone", "",
            "The time zone every time a person reads is shown in (tile clocks, the status bar), with its abbreviation "
            "beside it: an IANA name such as America/New_York. Empty: the workstation's own zone. Exports that say "
            "UTC stay in UTC."),
    Setting("audit_public_key", "Auditor's public key", "",
            "The auditor's Ed25519 public key file (FILE.pub from `rtic-console audit keygen`): `audit verify` holds "
            "the trail to every checkpoint it signed. Empty: verify cannot prove that no event was removed."),
    Setting("audit_signing_key", "Audit signing key", "",
            "Only on the one server or workstation that writes automatic audit checkpoints: the auditor's private "
            "key file (mode 0600; a protected key takes its passphrase from RTIC_AUDIT_KEY_PASSPHRASE). Empty: "
            "no automatic checkpoints. The key is read into memory, never stored in the database nor logged."),
    Setting("audit_checkpoint_interval_min", "Audit checkpoint interval (minutes)", 60,
            "With audit_signing_key set, how often the console signs a checkpoint of the audit trail.", minimum=1),
    # --- directory sign-in (console/services/directory_auth.py): agency policy, set only in the machine file ---
    Setting("auth", "Sign-in source", "local",
            "local: the console's own accounts; ldap: the agency's directory (Active Directory or LDAP) checks the "
            "password and its groups give the role (ldap_group_roles). The local break-glass administrator can "
            "still sign in when the directory is away.", choices=("local", "ldap"), policy="machine"),
    Setting("ldap_urls", "Directory servers", (),
            "The directory's servers in the order they are tried, e.g. [\"ldaps://dc1.example.gov\", "
            "\"ldaps://dc2.example.gov\"]: ldaps://, or ldap:// which always starts TLS (StartTLS) before "
            "anything is sent. The next one is used when one does not answer.", policy="machine"),
    Setting("ldap_ca_file", "Directory CA certificate", "",
            "The PEM file of the CA that signed the directory servers' certificates (the agency's CA). Empty: the "
            "system's trusted CAs. Certificates are always checked, names included.", policy="machine"),
    Setting("ldap_user_dn_template", "Directory bind name", "",
            "How a user name becomes the name the directory binds: a DN such as "
            "\"uid={user},ou=people,dc=example,dc=gov\" or a UPN such as \"{user}@example.gov\". Empty: "
            "search-then-bind with ldap_bind_dn, ldap_user_base and ldap_user_filter.", policy="machine"),
    Setting("ldap_bind_dn", "Directory service account", "",
            "The service account's DN, for search-then-bind and for the periodic re-check of open sessions.",
            policy="machine"),
    Setting("ldap_bind_password_env", "Service account password variable", "RTIC_LDAP_BIND_PASSWORD",
            "The NAME of the environment variable holding the service account's password (the password itself is "
            "never put in a settings file).", policy="machine"),
    Setting("ldap_bind_password_file", "Service account password file", "",
            "Instead of the variable: a file (mode 0600) whose first line is the service account's password.",
            policy="machine"),
    Setting("ldap_user_base", "Directory user base", "",
            "Where users are searched for (search-then-bind), e.g. \"ou=people,dc=example,dc=gov\".",
            policy="machine"),
    Setting("ldap_user_filter", "Directory user filter", "(uid={user})",
            "The search for one user, {user} being the name typed (escaped); Active Directory: "
            "\"(&(objectCategory=person)(sAMAccountName={user}))\".", policy="machine"),
    Setting("ldap_group_base", "Directory group base", "",
            "Where the groups are (nested groups are followed), e.g. \"ou=groups,dc=example,dc=gov\".",
            policy="machine"),
    Setting("ldap_group_roles", "Directory groups to roles", {},
            "A table from a group's DN to the console role its members get, e.g. "
            "{\"cn=RTIC Dispatch,ou=groups,dc=example,dc=gov\" = \"dispatcher\"}. An account in no mapped group "
            "cannot sign in; one in groups of two different roles is refused.", policy="machine"),
    # PostgreSQL failover (README, production notes): a read-only standby for searches, bounded audit writes.
    Setting("read_database_url", "Read-only standby URL", "",
            "Searches and map reads go to this PostgreSQL standby (its address, or a multi-host URL with "
            "target_session_attrs=prefer-standby); writes and the audit trail always go to the primary. Empty: "
            "everything on the primary.", policy="machine", secret=True),
    Setting("standby_max_lag_s", "Standby replay lag limit (s)", 5.0,
            "A standby that has replayed its primary's changes less recently than this is not read from: reads go "
            "to the primary until it catches up.", minimum=0.0, policy="at_most"),
    Setting("db_write_timeout_s", "Database write timeout (s)", 10.0,
            "An audit write that waits longer than this (a lock, a commit waiting for a missing synchronous "
            "standby) is given up and the event kept in the local journal.", minimum=1.0, policy="machine"),
    Setting("ldap_timeout_s", "Directory timeout (s)", 5.0,
            "Each directory server gets this long to connect and to answer each request before the next is tried.",
            minimum=0.5, policy="machine"),
    Setting("ldap_recheck_minutes", "Directory re-check (minutes)", 5,
            "How often an open session's directory account is looked at again (needs ldap_bind_dn): disabled, "
            "expired, or out of the mapped groups locks the session.", minimum=1, policy="machine"),
    # Retention (`rtic-console retention plan|run`; the README's table gives each default's source). Proof (the audit
    # trail, view sessions) may only be kept longer by a user's file, personal data only for less time.
    Setting("retention_audit_days", "Keep the audit trail (days)", 1095,
            "Audit events older than this are purged from the trail's oldest end, behind a checkpoint signed by the "
            "auditor's key at the cut. At least 365 (CJIS Security Policy AU-11: a minimum of one year).",
            minimum=365, policy="at_least"),
    Setting("retention_view_sessions_days", "Keep view sessions (days)", 1095,
            "Live-view sessions (who watched which camera, why, for how long) ended longer ago than this are purged; "
            "the audit trail keeps its own view_start/view_end events. At least 365 (they are audit records).",
            minimum=365, policy="at_least"),
    Setting("retention_snapshots_days", "Keep snapshots and clips (days)", 30,
            "Snapshots and clips saved from live views on this workstation are deleted this long after they were "
            "taken, unless their camera or incident is under legal hold.", minimum=1, policy="at_most"),
    Setting("retention_footage_days", "Keep received footage after the incident closes (days)", 730,
            "Footage received from owners, with its request and evidence files, is kept while its incident is open "
            "or under legal hold, then this many days after the incident closed.", minimum=1, policy="machine"),
    Setting("retention_bulletins_days", "Keep bulletins after the incident closes (days)", 30,
            "Incident bulletins (text, snapshot, clip) with their e-mail outbox rows are kept while their incident is "
            "open or under legal hold (or their camera is), then this many days after the incident closed; the audit "
            "trail keeps each bulletin's hashes.", minimum=1, policy="at_most"),
    Setting("retention_outreach_days", "Keep outreach call records (days)", 730,
            "Outreach calls (who was called, when, what came of it) are purged this long after the call.",
            minimum=1, policy="at_most"),
    Setting("retention_declined_days", "Keep declined registrations (days)", 90,
            "Calls in which the business or resident declined to register are purged this long after the call.",
            minimum=1, policy="at_most"),
    Setting("retention_run_every_hours", "Retention run schedule (hours)", 0,
            "`rtic-console retention run --if-due` (from cron or a systemd timer on one server) purges when the last "
            "finished run is at least this many hours old; 0: only when run by hand.", minimum=0, policy="machine"),
    Setting("bulletin_max_mb", "Bulletin size limit (MB)", 10.0,
            "The most a bulletin's attachments (snapshot and clip) may weigh together; agencies' mail relays commonly "
            "refuse bigger messages.", minimum=0.1, policy="at_most"),
    Setting("bulletin_clip_max_s", "Bulletin clip limit (s)", 15.0,
            "The longest clip a bulletin may carry (the last seconds of a live view); 0: no clips at all.",
            minimum=0.0, policy="at_most"),
    Setting("smtp_host", "SMTP relay", "",
            "The agency's mail relay that bulletins' e-mail copies go through. Empty: bulletins wait in the outbox "
            "and reach only the consoles."),
    Setting("smtp_port", "SMTP port", 587, "The relay's submission port.", minimum=1),
    Setting("smtp_starttls", "SMTP STARTTLS", True,
            "Require STARTTLS before anything is sent (the relay's certificate is checked). Turn off only for a relay "
            "on this machine.", policy="machine"),
    Setting("smtp_ca_file", "SMTP CA file", "",
            "A PEM file of the CA that signed the relay's certificate (an agency CA). Empty: the system's CAs."),
    Setting("smtp_from", "Bulletin sender address", "",
            "The From address of bulletins' e-mail copies, e.g. rtic-bulletins@police.example.gov."),
    Setting("smtp_user", "SMTP user", "", "The account the console signs in to the relay with. Empty: no sign-in."),
    Setting("smtp_password_env", "SMTP password variable", "RTIC_SMTP_PASSWORD",
            "The NAME of the environment variable holding the relay password (the password itself is never put in "
            "a settings file nor logged)."),
    Setting("smtp_timeout_s", "SMTP timeout (s)", 30.0,
            "Give up on a relay that does not answer within this long; the copy stays in the outbox.", minimum=1.0),
)

_BY_KEY = {s.key: s for s in DECLARED}


def machine_settings_path() -> Path:
    if os.environ.get(ENV_MACHINE_FILE):
        return Path(os.environ[ENV_MACHINE_FILE])
    return Path(platformdirs.site_config_dir(APP_NAME, APP_AUTHOR)) / "settings.toml"


def user_settings_path() -> Path:
    if os.environ.get(ENV_USER_FILE):
        return Path(os.environ[ENV_USER_FILE])
    return Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)) / "settings.toml"


class Settings:
    """The values in force; read them as attributes (`settings.search_radius_m`)."""

    def __init__(self, values: dict[str, Any] | None = None):
        self._values = {s.key: s.default for s in DECLARED}
        for key, value in (values or {}).items():
            self._values[key] = _checked(key, value, "the given settings")

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["_values"][key]
        except KeyError:
            raise AttributeError(key) from None

    def replaced(self, **changes: Any) -> "Settings":
        """A copy with some values changed (tests, command-line overrides)."""
        return Settings({**self._values, **changes})

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)


def load_settings(machine_file: Path | None = None, user_file: Path | None = None) -> Settings:
    """Defaults, then the machine file, then the user's file. A broken file is a UserError naming it."""
    return load_settings_explained(machine_file, user_file).settings


def load_settings_with_sources(machine_file: Path | None = None,
                               user_file: Path | None = None) -> tuple[Settings, dict[str, str]]:
    """The settings and, for each key, where its value came from: "default" or the path of the file that set it."""
    loaded = load_settings_explained(machine_file, user_file)
    return loaded.settings, loaded.sources


LOCKED_KEY = "locked"  # the machine file's list of settings a user's file may not change


@dataclass(frozen=True)
class Loaded:
    """The settings in force, where each value came from, which the machine file locked, and what was refused."""

    settings: Settings
    sources: dict[str, str]
    locked: frozenset[str]
    refused: dict[str, str]  # key -> the sentence saying why the user's value was not taken


def machine_baseline(machine_file: Path | None = None) -> tuple[Settings, frozenset[str]]:
    """Defaults and the machine file only: what a user's file may tighten, and what it may not touch."""
    machine, locked = _read(machine_file or machine_settings_path(), allow_lock=True)
    return Settings(machine), frozenset(locked)


def load_settings_explained(machine_file: Path | None = None, user_file: Path | None = None) -> Loaded:
    machine_path, user_path = machine_file or machine_settings_path(), user_file or user_settings_path()
    machine, locked = _read(machine_path, allow_lock=True)
    values: dict[str, Any] = dict(machine)
    sources = {s.key: "default" for s in DECLARED}
    sources.update({key: str(machine_path) for key in machine})
    refused: dict[str, str] = {}
    for key, value in _read(user_path)[0].items():
        why = user_may_not_set(key, value, values.get(key, _BY_KEY[key].default), locked)
        if why:
            refused[key] = why
            log.warning("settings file %s: %s", user_path, why)
            continue
        values[key] = value
        sources[key] = str(user_path)
    return Loaded(Settings(values), sources, frozenset(locked), refused)


def user_may_not_set(key: str, value: Any, baseline: Any, locked: Iterable[str]) -> str | None:
    """Why a user's file may not set `key` to `value` over the machine's (or default) `baseline`, or None."""
    setting = _BY_KEY[key]
    if key in locked:
        return f"{key} is locked by the machine settings file: the value {baseline!r} stays"
    if not setting.tighter_or_equal(value, baseline):
        if setting.policy == "machine":
            return f"{key} is agency policy and is set only in the machine settings file: {baseline!r} stays"
        return (f"{key} is agency policy and {setting.policy_rule}: {value!r} would loosen {baseline!r}, "
                f"so {baseline!r} stays")
    return None


def _read(path: Path, allow_lock: bool = False) -> tuple[dict[str, Any], list[str]]:
    """The settings a file holds, checked, and (machine file only) the settings it locks."""
    if not path.is_file():
        return {}, []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"the settings file {path} cannot be read ({exc}): fix or remove it") from None
    found, locked = {}, []
    for key, value in data.items():
        if key == LOCKED_KEY:
            if not allow_lock:
                log.warning("settings file %s: only the machine settings file can lock settings; %r ignored",
                            path, key)
                continue
            locked = _locked_list(value, path)
            continue
        if key not in _BY_KEY:
            log.warning("settings file %s: unknown setting %r ignored", path, key)
            continue
        found[key] = _checked(key, value, str(path))
    return found, locked


def _locked_list(value: Any, path: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"{path}: {LOCKED_KEY} must be a list of setting names, like [\"tile_url\", \"theme\"]")
    unknown = [v for v in value if v not in _BY_KEY]
    if unknown:
        raise UserError(f"{path}: {LOCKED_KEY} names settings that do not exist: {', '.join(map(repr, unknown))}")
    return list(value)


def _checked(key: str, value: Any, where: str) -> Any:
    setting = _BY_KEY.get(key)
    if setting is None:
        raise UserError(f"{where}: there is no setting called {key!r}")
    default = setting.default
    if isinstance(default, (tuple, dict)):
        from console.domain.directory import checked_directory_value

        return checked_directory_value(key, value, where)
    if isinstance(default, bool) or isinstance(default, str):
        ok = isinstance(value, type(default))
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    if not ok:
        raise UserError(f"{where}: {key} must be a {type(default).__name__} like {default!r}, not {value!r}")
    if setting.choices and value not in setting.choices:
        raise UserError(f"{where}: {key} must be one of {', '.join(setting.choices)}, not {value!r}")
    if setting.minimum is not None and value < setting.minimum:
        raise UserError(f"{where}: {key} must be at least {setting.minimum:g}, not {value!r}")
    if key == "service_area":
        _check_service_area(value, where)
    if key.startswith("ldap_"):
        from console.domain.directory import checked_directory_value

        value = checked_directory_value(key, value, where)
    if key == "time_zone":
        from console.local_time import zone_problem

        problem = zone_problem(value)
        if problem:
            raise UserError(f"{where}: time_zone {value[:80]!r} is not usable ({problem}): give an IANA name such "
                            "as America/New_York, or leave it empty for the workstation's own zone")
    return value


def _check_service_area(value: str, where: str) -> None:
    """A box is checked here; a file is read and checked where the area is used (it may change meanwhile)."""
    from console.domain.service_area import ServiceAreaInvalid, looks_like_box, parse_box

    text = value.strip()
    if not text:
        return
    if looks_like_box(text):
        try:
            parse_box(text)
        except ServiceAreaInvalid as exc:
            raise UserError(f"{where}: service_area {exc}") from None
    elif not text.lower().endswith((".geojson", ".json")) or len(text) > 4096:
        raise UserError(f"{where}: service_area must be a box south,west,north,east or the path of a .geojson "
                        f"file, not {text[:80]!r}")


def parse_value(key: str, text: str) -> Any:
    """A setting's value from text (a command line, an installer property), checked; UserError when it does not fit."""
    setting = _BY_KEY.get(key)
    if setting is None:
        raise UserError(f"there is no setting called {key!r} (see `rtic-console config show`)")
    value: Any = text
    if isinstance(setting.default, (tuple, dict)):
        raise UserError(f"{key} is a list or a table: set it in the machine settings file "
                        f"({machine_settings_path()})")
    if isinstance(setting.default, (int, float)) and not isinstance(setting.default, bool):
        try:
            value = int(text) if isinstance(setting.default, int) else float(text)
        except ValueError:
            raise UserError(f"{key} must be a {type(setting.default).__name__} like {setting.default!r}, "
                            f"not {text!r}") from None
    return _checked(key, value, "the given value")


def write_settings(path: Path, changes: dict[str, Any]) -> None:
    """Set some values in a settings file, keeping the others it holds (created with its folder when missing)."""
    found, locked = _read(path, allow_lock=True)
    values = {**found, **{key: _checked(key, value, str(path)) for key, value in changes.items()}}
    lines = ["# Community Connect Console settings (see `rtic-console config show`)."]
    if locked:
        lines.append(f"{LOCKED_KEY} = [{', '.join(_toml(key) for key in locked)}]")
    lines += [f"{s.key} = {_toml(values[s.key])}" for s in DECLARED if s.key in values]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write the settings file {path} ({exc.strerror or exc})") from None


def settings_template() -> str:
    """A settings file with every setting commented out at its default, each with its description."""
    lines = ["# Community Connect Console: machine settings (an administrator's).",
             "# Uncomment and change what this workstation needs; each user's own file can override them.",
             "# `rtic-console config show` lists the values in force and where each came from.",
             "# Lock settings so that users' own files cannot change them, e.g.: locked = [\"tile_url\", \"theme\"]"]
    for s in DECLARED:
        lines += ["", f"# {s.title}: {s.description}"]
        if s.policy:
            lines.append(f"# Agency policy: {s.policy_rule}.")
        if s.choices:
            lines.append(f"# One of: {', '.join(s.choices)}.")
        lines.append(f"# {s.key} = {_toml(s.default)}")
    return "\n".join(lines) + "\n"


def _toml(value: Any) -> str:
    """A TOML literal for a setting's value (JSON's string escapes are valid TOML basic strings)."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml(str(k))} = {_toml(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)
