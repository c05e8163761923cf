"""A small registry for the footage dialog's tests: an incident, three owners' cameras near it, a detective."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher

from console.domain.cameras import Camera, Capability, SharingMode
from console.domain.incidents import Incident
from console.domain.owners import OwnerContact, OwnerKind
from console.domain.users import Role, User
from console.services.accounts import AccountService
from console.services.contacts import ContactService
from console.services.footage import FootageService
from console.store import registry as repo
from console.store.audit import AuditLog
from console.store.db import Database, open_database
from console.store.secrets import ContactCipher, load_contact_key
from console.store.spatial import nearby_cameras
from tests.support.geometry import destination

CENTRE = (42.1487, -72.6079)
OWNERS = [  # name, organisation, phone, cameras: (label, bearing, distance m)
    ("Maria Lopez", "", "413-555-0142", [("Porch", 10, 35), ("Driveway", 40, 55)]),
    ("Dev Patel", "Patel Liquors", "413-555-0177", [("Storefront", 200, 80), ("Rear lot", 230, 120),
                                                   ("Register", 210, 85)]),
    ("Sam Okafor", "", "413-555-0190", [("Garage", 300, 140)]),
]


@dataclass
class FootageWorld:
    database: Database
    footage: FootageService
    contacts: ContactService
    user: User
    incident: Incident
    cameras: list


def footage_world(url: str, evidence_dir, now: datetime) -> FootageWorld:
    cipher = ContactCipher(load_contact_key())
    database = open_database(url, create=True)
    audit = AuditLog(database)
    accounts = AccountService(database, audit, cipher, PasswordHasher(time_cost=1, memory_cost=8, parallelism=1), "ws")
    user = accounts.add_user("os:test", "det.rivera", Role.DETECTIVE, "correct horse battery", now - timedelta(days=1))
    with database.engine.begin() as conn:
        for name, organisation, phone, cams in OWNERS:
            kind = OwnerKind.BUSINESS if organisation else OwnerKind.RESIDENT
            owner = repo.add_owner(conn, cipher, kind, OwnerContact(name, organisation, phone, "owner@example.org"))
            site = repo.add_site(conn, owner, name, f"{len(cams)} Front St, Chicopee, MA", *CENTRE)
            for label, bearing, distance in cams:
                lat, lon = destination(*CENTRE, bearing, distance)
                repo.add_camera(conn, cipher, Camera(None, site, label, lat, lon, f"{distance} Front St",
                                                     Capability.REGISTERED, SharingMode.NEVER), owner)
        incident_id = repo.add_incident(conn, Incident(None, "CAD-2026-0413", "Armed robbery", 1,
                                                       "88 Front St, Chicopee, MA", *CENTRE,
                                                       now - timedelta(minutes=50)))
        incident = repo.get_incident(conn, incident_id)
        cameras = nearby_cameras(conn, *CENTRE, 300)
    footage = FootageService(database, audit, evidence_dir=evidence_dir, workstation="ws")
    return FootageWorld(database, footage, ContactService(database, audit, cipher, "ws"), user, incident, cameras)
