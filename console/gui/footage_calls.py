"""The footage dialog's service calls, each run off the GUI thread through `Tasks` and answered on it.

Mixed into FootageRequestDialog (console/gui/footage_dialog.py): list and reload this incident's requests, create
them, record a contact attempt, reveal an owner's contact (audited by the service), read the owners' masked names and
find the cameras inside a drawn area. What the user picked is read on the GUI thread first; only the call itself
runs on the worker. A refusal comes back as a sentence on `sig_message`.
"""

from __future__ import annotations

from datetime import datetime, timezone

from PySide6.QtWidgets import QDateTimeEdit

from console.domain.cameras import NearbyCamera
from console.domain.footage import FootageRequest, Polygon
from console.domain.geo import haversine_m
from console.domain.owners import OwnerContact

STATUS_WORDS = {"open": "Open", "agreed": "Agreed", "declined": "Declined", "no_answer": "No answer",
                "overwritten": "Overwritten", "received": "Files received"}


class FootageCalls:
    """The calls on `self.footage` and `self.contacts` for one incident's requests."""

    def _window(self) -> tuple[datetime, datetime]:
        def utc(edit: QDateTimeEdit) -> datetime:
            return datetime.fromtimestamp(edit.dateTime().toSecsSinceEpoch(), timezone.utc)

        return utc(self.window_start), utc(self.window_end)

    def _failed(self, message: str) -> None:
        self.sig_message.emit(message)
        self.reload()  # e.g. someone else changed the request: show what is stored now

    def reload(self, select: int | None = None) -> None:
        keep = select if select is not None else (self.current.id if self.current else None)
        self.tasks.run("footage-list", lambda: [self.footage.get(r.id) for r in self.footage.list(self.incident.id)],
                       lambda requests: self._show_requests(requests, keep), self.sig_message.emit)

    def load_masked_owners(self, owner_ids: list[int]) -> None:
        self.tasks.run("footage-owners", lambda: {i: self.contacts.masked(i) for i in owner_ids},
                       self._show_masked_owners, self.sig_message.emit)

    def find_cameras_in_area(self, points: list[list[float]]) -> None:
        incident = self.incident

        def find() -> list[NearbyCamera]:
            found = self.footage.cameras_in_area(Polygon(tuple((lat, lon) for lat, lon in points)))
            # Shown like the radius list: metres from the incident, not from the area's centre.
            return [c._replace(distance_m=haversine_m(incident.lat, incident.lon, c.lat, c.lon)) for c in found]

        self.tasks.run("footage-area", find, lambda cameras: self._show_area_cameras(points, cameras),
                       self.sig_message.emit)

    def create_requests(self) -> None:
        camera_ids, (start, end) = self.checked_cameras(), self._window()
        user, now, incident_id = self._user(), self.clock(), self.incident.id
        self.sig_message.emit("Creating requests…")

        def done(created) -> None:
            self.sig_message.emit(created.summary())
            self.reload(select=created.request_ids[0] if created.request_ids else None)

        self.tasks.run("footage-create", lambda: self.footage.create(user, incident_id, start, end, now, camera_ids),
                       done, self.sig_message.emit)

    def record_attempt(self) -> None:
        request = self.current
        if request is None:
            return
        channel, outcome, note = self.channel.currentData(), self.outcome.currentData(), self.note.text()
        user, now = self._user(), self.clock()

        def done(updated: FootageRequest) -> None:
            self.note.clear()
            self.sig_message.emit(f"Attempt recorded: request #{updated.id} is {STATUS_WORDS[updated.status.value]}")
            self.reload(select=updated.id)

        self.tasks.run("footage-attempt", lambda: self.footage.record_attempt(
            user, request.id, request.version, channel, outcome, note, now), done, self._failed)

    def reveal_contact(self) -> None:
        request = self.current
        if request is None:
            return
        reason = self.ask_reason()
        if not reason:
            self.sig_message.emit("Owner contact not shown: no reason given")
            return
        user, now = self._user(), self.clock()

        def done(contact: OwnerContact) -> None:
            parts = [contact.organisation, contact.name, contact.phone, contact.email]
            self.contact_label.setText("   ".join(p for p in parts if p) or "No contact on record")
            self.sig_message.emit("Owner contact shown; the reveal is in the audit trail")

        self.tasks.run("footage-reveal", lambda: self.contacts.reveal(
            user, request.owner_id, reason, now, incident_id=request.incident_id), done, self.sig_message.emit)
