"""Fixtures for the demo gateway's tests: a real demo registry (both backends) and a real gateway on loopback."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from console.services.demo import generate_demo
from console.services.demo_gateway import DemoGatewayService
from console.services.demo_training import add_training_site
from console.store.audit import AuditLog
from console.store.secrets import ContactCipher, load_contact_key


@pytest.fixture
def cipher():
    return ContactCipher(load_contact_key())


@pytest.fixture
def demo_registry(database, cipher):
    """The demo registry of a first start (300 cameras) with its training site; the training cameras' ids."""
    generate_demo(database, cipher, cameras=300, seed=3)
    return add_training_site(database, cipher, datetime.now(timezone.utc))


@pytest.fixture
def gateway(database, cipher, demo_registry):
    """The demo gateway on this registry, frozen camera freezing after 1.5 s; stopped after the test."""
    from console.services.owner_alerts import OwnerAlertService

    service = DemoGatewayService.from_registry(database, cipher, OwnerAlertService(database, AuditLog(database)),
                                               freeze_after_s=1.5)
    service.alert_every_s = 3600.0
    service.start()
    yield service
    service.stop()
