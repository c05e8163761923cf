"""The units an EIDO names on the incident: read as bounded, validated text, or the document is rejected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console.domain.eido import MAX_UNIT_ID, MAX_UNITS, CadRejected, parse_eido

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "eido"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def test_units_read_in_order_once_each():
    incident = parse_eido(sample("units_burglary.json"))
    assert incident.units == ("Unit 2A21", "Unit 2A22", "K9-4")
    assert incident.cad_number == "CPD-2026-004711"


def test_no_units_is_an_empty_tuple():
    assert parse_eido(sample("new_burglary.json")).units == ()


def test_units_on_a_call_only_eido():
    document = sample("call_only.json")
    document["emergencyResourceComponent"] = {"emergencyResourceIdentifier": "  Engine   7 "}
    assert parse_eido(document).units == ("Engine 7",)


def test_fifty_units_taken():
    document = sample("new_burglary.json")
    document["emergencyResourceComponent"] = [{"emergencyResourceIdentifier": f"U{i}"} for i in range(MAX_UNITS)]
    assert len(parse_eido(document).units) == MAX_UNITS


def _hostile(resources):
    document = sample("new_burglary.json")
    document["emergencyResourceComponent"] = resources
    with pytest.raises(CadRejected) as caught:
        parse_eido(document)
    assert caught.value.field.startswith("emergencyResourceComponent")
    assert caught.value.cad_number == "CPD-2026-004711"
    return caught.value


def test_too_many_units_rejected():
    error = _hostile([{"emergencyResourceIdentifier": f"U{i}"} for i in range(MAX_UNITS + 1)])
    assert f"at most {MAX_UNITS}" in str(error)


@pytest.mark.parametrize("bad", ["Unit\x002A21", "Unit\n2A21", "Unit\x1b[31m", "Unit\u202e12", "\t"])
def test_control_characters_rejected(bad):
    assert "control" in str(_hostile([{"emergencyResourceIdentifier": bad}]))


@pytest.mark.parametrize("bad", [{"id": {"id": {"id": "x"}}}, ["Unit 1"], 42, None, True])
def test_nested_or_not_text_rejected(bad):
    resources = [{"emergencyResourceIdentifier": bad}] if bad is not None else [{"other": "x"}]
    _hostile(resources)


def test_deeply_nested_component_rejected():
    deep: object = "Unit 1"
    for _ in range(500):
        deep = [deep]
    _hostile(deep[0])  # a list of lists, not of unit objects
    _hostile("Unit 1")


@pytest.mark.parametrize("size", [MAX_UNIT_ID + 1, 10_000_000])
def test_huge_ids_rejected(size):
    assert f"longer than {MAX_UNIT_ID}" in str(_hostile([{"emergencyResourceIdentifier": "U" * size}]))


def test_empty_id_rejected():
    _hostile([{"emergencyResourceIdentifier": "   "}])
