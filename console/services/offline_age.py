"""How old the data behind an offline decision may be: past the limit, no live view opens and no search is answered
on it, and the sentence says why and how old the data is.

Last-read registry data (what this console read before the database went away) is limited by the setting
`offline_data_max_age_hours` (12); the field copy by its own limit `field_copy_max_age_days` (7). Pure: the caller
passes `now`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

DEFAULT_DATA_MAX_AGE = timedelta(hours=12)
DEFAULT_FIELD_COPY_MAX_AGE = timedelta(days=7)


def age_text(age: timedelta) -> str:
    """'3 days 4 hours', '13 hours 5 minutes', '42 minutes'."""
    minutes = max(int(age.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    shown = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n][:2]
    return " ".join(shown) or "less than a minute"


def _limit_text(limit: timedelta) -> str:
    hours = limit.total_seconds() / 3600
    if hours >= 24 and hours % 24 == 0:
        days = int(hours // 24)
        return f"{days}-day" if days != 1 else "1-day"
    return f"{hours:g}-hour"


def too_old(as_of: datetime, now: datetime, limit: timedelta, field_copy: bool) -> str | None:
    """Why data read at `as_of` may no longer decide anything offline, or None while it may."""
    age = now - as_of
    if age <= limit:
        return None
    if field_copy:
        what = f"the field copy was made {age_text(age)} ago ({as_of.astimezone():%d %b %H:%M})"
        setting = "field_copy_max_age_days"
        fix = "connect to the network so the copy is made again"
    else:
        what = f"the registry data this console last read is {age_text(age)} old (read {as_of.astimezone():%d %b %H:%M})"
        setting = "offline_data_max_age_hours"
        fix = "this works again when the database is back"
    return f"{what}, past the {_limit_text(limit)} limit for offline decisions ({setting}): {fix}"
