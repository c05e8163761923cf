"""The one time zone a person reads times in (setting `time_zone`), and a time written for them with its zone.

Stored times and exports stay UTC (they say so); what a dispatcher reads on a tile or in the status bar is in the
agency's zone, or the workstation's own when the setting is empty, always with the zone's abbreviation beside it.
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_ZONE_NAME = 64  # the longest IANA names are about 30 characters


def zone_problem(name: str) -> str | None:
    """None when `name` is empty (the workstation's zone) or an IANA zone this computer knows; else why not."""
    text = (name or "").strip()
    if not text:
        return None
    if len(text) > MAX_ZONE_NAME or not text.isprintable():
        return "it is not a time zone name"
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return "this computer knows no time zone of that name"
    return None


def time_zone(name: str) -> tzinfo | None:
    """The zone the setting names; None for the workstation's own (which follows its daylight-saving changes)."""
    text = (name or "").strip()
    if not text or zone_problem(text) is not None:
        return None
    return ZoneInfo(text)


def clock_text(moment: datetime, zone: tzinfo | None, seconds: bool = True) -> str:
    """`moment` as a wall-clock time in `zone` with the zone's abbreviation: "14:05:09 EST" (or "14:05 EST")."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # the console keeps naive times only in UTC
    local = moment.astimezone(zone) if zone is not None else moment.astimezone()
    return local.strftime("%H:%M:%S %Z" if seconds else "%H:%M %Z").strip()
