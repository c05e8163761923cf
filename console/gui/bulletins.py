"""Incident bulletins in the window: Ctrl+Shift+B (and the tile menu, and the panel's button) opens "Send to
responders" on the chosen tile's picture; the Incident bulletins panel shows what was sent for the incident on
screen, and follows every console's sends and deliveries (ChangeKind.BULLETIN) as they happen.

The tile chosen: the one with the keyboard focus, else the maximised one, else the first with a picture; with no
picture at all the bulletin is text only. Every live tile keeps the last `bulletin_clip_max_s` seconds of packets
for the clip (console/video/clip_buffer.py), where the agency allows clips.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from PySide6.QtCore import QObject, Qt

from console.domain.changes import ChangeKind
from console.domain.users import Permission
from console.gui.bulletin_dialog import SendBulletinDialog
from console.gui.panels.bulletins_panel import BulletinsPanel
from console.gui.video.snapshot import caption_for
from console.services.bulletins import BulletinService


def _full_picture(buffer):
    """On a worker: the newest picture of the view at the stream's resolution, as a QImage (or None)."""
    from console.gui.video.bridge import to_qimage

    array = buffer.latest_picture()
    return to_qimage(array) if array is not None else None


class BulletinTools(QObject):
    def __init__(self, window, wall, user: Callable[[], object], service: BulletinService, zone=None,
                 wake_outbox: Callable[[], None] | None = None):
        super().__init__(window)
        self.window, self.wall, self.user, self.service = window, wall, user, service
        self.wake_outbox = wake_outbox
        self.dialog: SendBulletinDialog | None = None
        self.panel = BulletinsPanel(service.list, window.tasks, zone)
        self.panel.sig_send_requested.connect(self.open_send)
        self.panel.sig_arrived.connect(self._arrived)
        dock = window.add_panel("bulletins", "Incident bulletins", self.panel, Qt.DockWidgetArea.RightDockWidgetArea)
        if "detail" in window.docks:
            window.tabifyDockWidget(window.docks["detail"], dock)
            window.docks["detail"].raise_()
        from console.gui.main_window import ActionId

        if user().may(Permission.BULLETIN_SEND):
            wall.sends_bulletins = True
            window.add_action(ActionId.SEND_BULLETIN, "Send to responders…", "Ctrl+Shift+B", self.open_send,
                              window.incident_menu)
        else:
            self.panel.send_button.hide()
        for tile in wall.tiles:
            tile.clip_seconds = service.clip_max_s
        wall.sig_send_bulletin.connect(self.open_send_from)
        window.controller.sig_nearby_shown.connect(lambda _answer: self._incident_changed())
        self._incident_changed()

    def _incident(self):
        point = self.window.controller.point
        return point.incident if point is not None else None

    def _incident_changed(self) -> None:
        incident = self._incident()
        if incident is None:
            self.panel.show_incident(None)
        elif incident.id != self.panel.incident_id:
            self.panel.show_incident(incident.id, incident.cad_number or f"incident {incident.id}")

    def _arrived(self, bulletin) -> None:
        """A bulletin another console sent for the incident on screen: said across the top, not only in the panel."""
        if bulletin.workstation == self.service.workstation and bulletin.sent_by == self.user().username:
            return  # our own: the status bar said so already
        first = (bulletin.text.splitlines() or ["(picture)"])[0][:90]
        self.window.show_notice(f"BULLETIN {bulletin.cad_number} from {bulletin.sent_by}: {first}", urgent=False,
                                button="Show", slot=self.window.docks["bulletins"].raise_)

    def changed(self, changes) -> None:
        """Other consoles' (and the outbox's) changes: a bulletin sent or delivered refreshes the panel."""
        if any(c.kind is ChangeKind.BULLETIN for c in changes):
            self.panel.refresh()

    def chosen_tile(self):
        tiles = [t for t in self.wall.visible_tiles() if t.view is not None and t.current_image() is not None]
        for test in (lambda t: t.hasFocus(), lambda t: t.maximised, lambda t: True):
            found = next((t for t in tiles if test(t)), None)
            if found is not None:
                return found
        return None

    def open_send(self) -> None:
        self.open_send_from(self.chosen_tile())

    def open_send_from(self, tile) -> None:
        incident = self._incident()
        if incident is None or incident.id is None:
            self.window.statusBar().showMessage(
                "Bulletins belong to a registered incident: pick one from the open incidents first.", 10000)
            return
        if self.dialog is not None:
            self.dialog.close()
        image = tile.current_image() if tile is not None else None
        view = tile.view if tile is not None else None
        user = self.user()
        caption = caption_for(view.camera_label, user.username, incident.cad_number or str(incident.id),
                              datetime.now(timezone.utc)) if view is not None else ""
        buffer = getattr(tile, "clip_buffer", None) if tile is not None else None
        clip = (lambda: buffer.write_mp4()) if buffer is not None else None
        self.dialog = SendBulletinDialog(self.service, self.user, incident, self.window.tasks, image=image,
                                         caption=caption, camera_id=view.camera_id if view else None, clip=clip,
                                         clip_seconds=self.service.clip_max_s if buffer is not None else 0.0,
                                         parent=self.window)
        self.dialog.sig_sent.connect(self._sent)
        self.dialog.open()
        dialog = self.dialog
        if buffer is not None:  # the tile shows a scaled picture: the stream's own resolution comes from its packets
            self.window.tasks.run("bulletin-picture", lambda: _full_picture(buffer),
                                  lambda image: dialog.set_full_picture(image) if self.dialog is dialog else None)
        dialog.load_units()
        self.window.tasks.run("bulletin-groups", lambda: sorted(self.service.groups()),
                              lambda names: dialog.set_groups(names) if self.dialog is dialog else None)

    def _sent(self, sent) -> None:
        self.window.statusBar().showMessage(
            f"Bulletin {sent.bulletin_id} sent: on every console with the incident open; {sent.recipients} e-mail "
            "copy(ies) on their way", 10000)
        self.panel.refresh()
        if self.wake_outbox is not None:
            self.wake_outbox()
