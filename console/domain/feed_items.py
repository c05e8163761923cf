"""The registry feed's page and items (resources/openapi/registry-feed.json), checked and typed. Pure: no I/O.

A page is `{"items": [...], "next_cursor": "...", "has_more": bool}`. Each item has a `type`: `camera` (the same
fields as a portal CSV row, validated by console/domain/portal_records.py), `camera_removed`, `owner_deleted`
(an erasure request) or `alert` (an owner's alert). `parse_page` returns the typed page or raises `BadPage`
naming the first thing wrong; a page is applied whole or not at all, so one bad item rejects its page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Union

from console.domain.grants import GrantSource
from console.domain.portal_records import FIELDS, PortalRecord, validate

MAX_ITEMS_PER_PAGE = 10_000
MAX_ID_CHARS = 100
ALERT_SOURCES = (GrantSource.APP, GrantSource.PANIC_BUTTON, GrantSource.STAFF, GrantSource.FEED)


class BadPage(ValueError):
    """The page breaks the protocol; the message says where, in words a portal's developer can act on.

    Never carries contact details: an item is named by its number and portal id."""


@dataclass(frozen=True)
class CameraUpsert:
    record: PortalRecord


@dataclass(frozen=True)
class CameraRemoved:
    portal_id: str


@dataclass(frozen=True)
class OwnerDeleted:
    camera_portal_id: str  # the owner is whoever owns this camera


@dataclass(frozen=True)
class AlertItem:
    alert_id: str
    camera_portal_id: str
    whole_site: bool  # scope "site": every camera at that camera's site
    starts_at: datetime
    expires_at: datetime
    source: GrantSource
    cancelled_at: datetime | None = None


FeedItem = Union[CameraUpsert, CameraRemoved, OwnerDeleted, AlertItem]
ITEM_TYPES = ("camera", "camera_removed", "owner_deleted", "alert")
_FIELDS_OF = {
    "camera": {"type", *FIELDS},
    "camera_removed": {"type", "portal_id"},
    "owner_deleted": {"type", "camera_portal_id"},
    "alert": {"type", "alert_id", "camera_portal_id", "scope", "starts_at", "expires_at", "source", "cancelled_at"},
}


@dataclass(frozen=True)
class FeedPage:
    items: tuple[FeedItem, ...]
    next_cursor: str
    has_more: bool


def parse_page(body: Any) -> FeedPage:
    """The decoded JSON body of a 200 answer as a typed page, or BadPage."""
    if not isinstance(body, dict):
        raise BadPage(f"the page is a JSON {_json_type(body)}, not an object with items, next_cursor and has_more")
    for key, kind in (("items", list), ("next_cursor", str), ("has_more", bool)):
        if key not in body:
            raise BadPage(f"the page has no {key!r}")
        if not isinstance(body[key], kind):
            raise BadPage(f"the page's {key!r} is a JSON {_json_type(body[key])}, not {_json_type(kind())}")
    if not body["next_cursor"] or len(body["next_cursor"]) > 300:
        raise BadPage("the page's 'next_cursor' must be 1 to 300 characters")
    if len(body["items"]) > MAX_ITEMS_PER_PAGE:
        raise BadPage(f"the page has {len(body['items'])} items; at most {MAX_ITEMS_PER_PAGE}")
    items = tuple(parse_item(item, number) for number, item in enumerate(body["items"], 1))
    return FeedPage(items, body["next_cursor"], body["has_more"])


def parse_item(item: Any, number: int) -> FeedItem:
    if not isinstance(item, dict):
        raise BadPage(f"item {number} is a JSON {_json_type(item)}, not an object")
    kind = item.get("type")
    if kind in _FIELDS_OF:
        # Strict, as the description says: an unknown field is most often a misspelt one (latitude for lat).
        unknown = sorted(set(item) - _FIELDS_OF[kind])
        if unknown:
            raise BadPage(f"item {number} ({kind}): unknown field {unknown[0]!r}")
    if kind == "camera":
        result = validate(item, number)
        if not isinstance(result, PortalRecord):
            name = _portal_id(item.get("portal_id"))
            raise BadPage(f"item {number} (camera {name}): "
                          + "; ".join(p.message if p.message.startswith(p.column) else f"{p.column} {p.message}"
                                      for p in result))
        return CameraUpsert(result)
    if kind == "camera_removed":
        return CameraRemoved(_id(item, "portal_id", number, kind))
    if kind == "owner_deleted":
        return OwnerDeleted(_id(item, "camera_portal_id", number, kind))
    if kind == "alert":
        return _alert(item, number)
    raise BadPage(f"item {number} has type {_shown(kind)}; expected one of {', '.join(ITEM_TYPES)}")


def _alert(item: dict, number: int) -> AlertItem:
    alert_id = _id(item, "alert_id", number, "alert")
    where = f"item {number} (alert {alert_id})"
    camera = _id(item, "camera_portal_id", number, "alert")
    scope = item.get("scope", "camera")
    if scope not in ("camera", "site"):
        raise BadPage(f"{where}: scope is {_shown(scope)}; expected camera or site")
    starts, expires = _moment(item, "starts_at", where), _moment(item, "expires_at", where)
    cancelled = _moment(item, "cancelled_at", where) if item.get("cancelled_at") is not None else None
    try:
        source = GrantSource(item.get("source") or GrantSource.FEED.value)
    except ValueError:
        raise BadPage(f"{where}: source is {_shown(item.get('source'))}; expected one of "
                      f"{', '.join(s.value for s in ALERT_SOURCES)}") from None
    return AlertItem(alert_id, camera, scope == "site", starts, expires, source, cancelled)


def _id(item: dict, key: str, number: int, kind: str) -> str:
    value = item.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise BadPage(f"item {number} ({kind}): {key} is missing or empty")
    if len(value) > MAX_ID_CHARS:
        raise BadPage(f"item {number} ({kind}): {key} is {len(value)} characters long; at most {MAX_ID_CHARS}")
    return value.strip()


def _moment(item: dict, key: str, where: str) -> datetime:
    raw = item.get(key)
    if not isinstance(raw, str):
        raise BadPage(f"{where}: {key} is missing; give an ISO 8601 time with a zone, e.g. 2026-11-24T01:00:00Z")
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadPage(f"{where}: {key} {_shown(raw)} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise BadPage(f"{where}: {key} {_shown(raw)} has no time zone (add Z for UTC)")
    return moment.astimezone(timezone.utc)


def _portal_id(value: Any) -> str:
    return _shown(str(value)) if value not in (None, "") else "without portal_id"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 42 else text[:39] + "..."


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")
