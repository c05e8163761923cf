"""Incidents: the calls for service a live view must name."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class IncidentStatus(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Incident:
    id: int | None
    cad_number: str | None
    type: str
    priority: int  # 1 is the most urgent
    address: str
    lat: float
    lon: float
    opened_at: datetime
    closed_at: datetime | None = None
    source: str = "console"

    @property
    def status(self) -> IncidentStatus:
        return IncidentStatus.CLOSED if self.closed_at else IncidentStatus.OPEN
