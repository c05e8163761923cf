"""The registry feed's OpenAPI description (resources/openapi/registry-feed.json) against the portal double and the client.

The description is what a portal's developers implement, so the test double must answer what it documents, and
the client must accept what it allows and reject what it forbids. PyYAML is not installed, hence JSON; the
checker below covers the schema keywords the description uses (no jsonschema dependency).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.domain.feed_items import BadPage, parse_page
from console.services.registry_feed import FeedHttp, FeedOptions, PageRejected, long_poll_offer
from tests.support.portal_server import PortalServer, alert, camera

SPEC_PATH = Path(__file__).resolve().parents[2] / "resources" / "openapi" / "registry-feed.json"
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int, "number": (int, float)}


@pytest.fixture(scope="module")
def spec() -> dict:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def problems(value, schema: dict, spec: dict, where: str = "$") -> list[str]:
    """What in `value` breaks `schema` (the subset of OpenAPI 3.0 schema keywords the description uses)."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        return problems(value, spec["components"]["schemas"][name], spec, where)
    if "oneOf" in schema:
        tag = schema["discriminator"]["propertyName"]
        target = schema["discriminator"]["mapping"].get(value.get(tag) if isinstance(value, dict) else None)
        if target is None:
            return [f"{where}: {tag} is not one of {sorted(schema['discriminator']['mapping'])}"]
        return problems(value, {"$ref": target}, spec, where)
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null is not allowed"]
    kind = schema.get("type")
    if kind and (not isinstance(value, TYPES[kind]) or (kind in ("integer", "number") and isinstance(value, bool))):
        return [f"{where}: {type(value).__name__} is not {kind}"]
    out = []
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", 10**9) or len(value) < schema.get("minLength", 0):
            out.append(f"{where}: length {len(value)} out of bounds")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and (value < low or (schema.get("exclusiveMinimum") and value == low))) or (
                high is not None and value > high):
            out.append(f"{where}: {value} out of range")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        out += [f"{where}: missing {key!r}" for key in schema.get("required", []) if key not in value]
        if schema.get("additionalProperties") is False:
            out += [f"{where}: unexpected {key!r}" for key in value if key not in props]
        for key, sub in props.items():
            if key in value:
                out += problems(value[key], sub, spec, f"{where}.{key}")
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", 10**9):
            out.append(f"{where}: too many items")
        for n, item in enumerate(value):
            out += problems(item, schema.get("items", {}), spec, f"{where}[{n}]")
    return out


def page_schema(spec: dict) -> dict:
    return spec["paths"]["/changes"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]


def test_the_description_is_openapi_3_and_names_the_protocol(spec):
    assert spec["openapi"].startswith("3.") and spec["info"]["version"]
    get = spec["paths"]["/changes"]["get"]
    assert {p["name"] for p in get["parameters"]} == {"cursor", "limit", "wait", "If-None-Match"}
    assert spec["info"]["version"] == "1.1.0"  # 1.1: the long poll (wait, long_poll_max_s)
    wait = next(p for p in get["parameters"] if p["name"] == "wait")["schema"]
    offer = spec["components"]["schemas"]["Page"]["properties"]["long_poll_max_s"]
    assert (wait["minimum"], wait["maximum"]) == (offer["minimum"], offer["maximum"]) == (0, 30)
    assert {"200", "304", "401", "410", "429", "5XX"} <= set(get["responses"])
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    mapping = spec["components"]["schemas"]["Item"]["discriminator"]["mapping"]
    assert set(mapping) == {"camera", "camera_removed", "owner_deleted", "alert"}
    # Every $ref points at a schema that exists.
    text = json.dumps(spec)
    for name in {part.split('"')[0] for part in text.split("#/components/schemas/")[1:]}:
        assert name in spec["components"]["schemas"], name


def test_the_portal_double_answers_what_the_description_documents(spec):
    items = [camera("P-1"), camera("P-2", organisation="Corner Shop", bearing_deg=None),
             {"type": "camera_removed", "portal_id": "P-2"}, {"type": "owner_deleted", "camera_portal_id": "P-1"},
             alert("A-1", "P-1", "2026-11-23T22:00:00Z", "2026-11-23T23:00:00Z", scope="site")]
    with PortalServer(items, long_poll_max_s=1) as portal, \
            FeedHttp(portal.base_url, options=FeedOptions(page_size=2)) as http:
        cursor, pages = None, []
        while True:
            fetched = http.fetch(cursor, wait=1)
            assert fetched.long_poll_max_s == 1
            pages.append(fetched.page)
            cursor = fetched.page.next_cursor
            if not fetched.page.has_more:
                break
        at_end = http.fetch(cursor)
        assert at_end.page.items == () and at_end.page.next_cursor == cursor and at_end.etag
        assert http.fetch(cursor, at_end.etag).page is None  # 304
    assert len(portal.responses) >= 3
    for body in portal.responses:
        assert problems(body, page_schema(spec), spec) == []
    assert sum(len(p.items) for p in pages) == 5


@pytest.mark.parametrize("body", [
    {"items": [], "next_cursor": "c1"},
    {"items": {}, "next_cursor": "c1", "has_more": False},
    {"items": [], "next_cursor": "", "has_more": False},
    {"items": [{"type": "camera", "portal_id": "P-1"}], "next_cursor": "c1", "has_more": False},
    {"items": [{"type": "alert", "alert_id": "A", "camera_portal_id": "P-1", "starts_at": "2026-11-23T22:00:00Z",
                "expires_at": "2026-11-23T23:00:00Z", "scope": "street"}], "next_cursor": "c1", "has_more": False},
    {"items": [{"type": "camera_removed", "portal_id": "P-1", "why": "moved"}], "next_cursor": "c1",
     "has_more": False},
    {"items": [], "next_cursor": "c1", "has_more": False, "long_poll_max_s": 31},
    {"items": [], "next_cursor": "c1", "has_more": False, "long_poll_max_s": -1},
    {"items": [], "next_cursor": "c1", "has_more": False, "long_poll_max_s": "5"},
])
def test_what_the_description_forbids_the_client_rejects(spec, body):
    assert problems(body, page_schema(spec), spec) != []
    with pytest.raises(BadPage):
        parse_page(body)
        long_poll_offer(body)


def test_a_page_that_is_not_json_is_rejected():
    with PortalServer([camera("P-1")]) as portal, FeedHttp(portal.base_url) as http:
        portal.fail("malformed")
        with pytest.raises(PageRejected, match="is not JSON"):
            http.fetch(None)
