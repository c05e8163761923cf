"""Console settings, declared once (title, default, description) and read from a machine and a per-user TOML file.

The machine file (an administrator's: tile server, geocoder) is read first, then the user's file overrides it.
Each path can be moved with an environment variable so tests and kiosks get settings of their own.
"""

from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


DECLARED: tuple[Setting, ...] = (
    Setting("tile_url", "Tile server URL", "",
            "XYZ/WMTS URL template of the agency's tile server, e.g. https://tiles.example.gov/{z}/{x}/{y}.png. "
            "Public OSM tiles only with attribution and an identifying User-Agent. Empty: no online tiles."),
    Setting("tile_attribution", "Tile attribution", "",
            "Attribution shown on the map for the tiles from tile_url (required for OpenStreetMap tiles)."),
    Setting("mbtiles_path", "Offline tiles (MBTiles)", "",
            "An MBTiles file for laptops with no network; used instead of tile_url when set."),
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
    Setting("user_agent", "User-Agent", "CommunityConnectConsole/0.1 (police RTIC console)",
            "Identifying User-Agent sent to the geocoder and tile servers, as their usage policies require."),
    Setting("search_radius_m", "Search radius (m)", 300.0, "Default radius around an incident.", minimum=10.0),
    Setting("nearest_live_n", "Nearest live cameras", 4, "How many live-now cameras 'open nearest live' opens.",
            minimum=1),
    Setting("theme", "Theme", "dark", "Colour theme: dark for a dim control room, light for daylight.",
            choices=("dark", "light")),
    Setting("idle_lock_minutes", "Idle lock (minutes)", 30,
            "Lock the console after this long with no input; 0 turns the lock off (a dispatch position in a secure "
            "room).", minimum=0),
    Setting("live_view_max_minutes", "Live view limit (minutes)", 15, "A live view stops after this long.",
            minimum=1),
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
    return load_settings_with_sources(machine_file, user_file)[0]


def load_settings_with_sources(machine_file: Path | None = None,
                               user_file: Path | None = None) -> tuple[Settings, dict[str, str]]:
    """The settings and, for each key, where its value came from: "default" or the path of the file that set it."""
    values: dict[str, Any] = {}
    sources = {s.key: "default" for s in DECLARED}
    for path in (machine_file or machine_settings_path(), user_file or user_settings_path()):
        found = _read(path)
        values.update(found)
        sources.update({key: str(path) for key in found})
    return Settings(values), sources


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"the settings file {path} cannot be read ({exc}): fix or remove it") from None
    found = {}
    for key, value in data.items():
        if key not in _BY_KEY:
            log.warning("settings file %s: unknown setting %r ignored", path, key)
            continue
        found[key] = _checked(key, value, str(path))
    return found


def _checked(key: str, value: Any, where: str) -> Any:
    setting = _BY_KEY.get(key)
    if setting is None:
        raise UserError(f"{where}: there is no setting called {key!r}")
    default = setting.default
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
    return value
