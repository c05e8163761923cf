"""Runs the demo gateway (console/demo) beside a console on the demo registry, and the hook that plays demo cameras
from it.

The demo cameras keep the stream URLs they were registered with (gw-N.demo.invalid, training.demo.invalid);
`resolve` hands the players a loopback address instead, ONLY for a URL that one of the registry's demo cameras
holds and the gateway serves: every other source comes back unchanged. The setting demo_gateway: auto starts it
only when the registry is the demo registry (demo cameras and nothing else); off never does.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import datetime, timezone
from typing import Callable

from console.demo.cameras import ALERT_DRILL, DemoCamera, demo_key
from console.demo.gateway import DemoGateway
from console.domain.cameras import StreamProtocol
from console.domain.grants import GrantSource
from console.store.db import Database
from console.store.demo import demo_streams, is_demo_registry
from console.store.secrets import ContactCipher
from console.video.source import StreamSource

log = logging.getLogger(__name__)

ALERT_EVERY_S = 300.0  # the demo owner of the alert-drill camera raises an alert every five minutes...
ALERT_MINUTES = 2  # ...for two minutes, so the on-alert path (bar, decision, its end) can be seen on a schedule
DEMO_OWNER = "demo owner"
SCENE_LABEL_CHARS = 48


class DemoGatewayService:
    """The gateway, the resolve hook for the PlayerFactory, and the demo owner's alert schedule."""

    def __init__(self, gateway: DemoGateway, streams: dict[str, str], alerts=None, drill_camera_id: int | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 alert_every_s: float = ALERT_EVERY_S):
        self.gateway = gateway
        self._streams = streams  # registered demo URL -> the gateway's camera key
        self.alerts, self.drill_camera_id = alerts, drill_camera_id
        self.clock, self.alert_every_s = clock, alert_every_s
        self._stop = threading.Event()
        self._scheduler: threading.Thread | None = None
        self._raising = threading.Lock()  # the schedule and a caller must not both find "none in force"
        self.alerts_raised = 0

    @classmethod
    def from_registry(cls, database: Database, cipher: ContactCipher, alerts=None, **options) -> "DemoGatewayService":
        with database.reader.connect() as conn:
            rows = demo_streams(conn, cipher)
        cameras: dict[str, DemoCamera] = {}
        streams: dict[str, str] = {}
        drill = None
        for row in rows:
            key = demo_key(row.url)
            if key is None:
                continue
            streams[row.url] = key.camera
            if key.camera not in cameras:
                place = (row.address or "").split(",")[0]
                label = f"{row.label} · {place}" if place else row.label
                cameras[key.camera] = DemoCamera.of(key.camera, label[:SCENE_LABEL_CHARS], row.username, row.password)
            if key.camera == f"training/{ALERT_DRILL}":
                drill = row.camera_id
        gateway = DemoGateway(cameras.values(), **options)
        return cls(gateway, streams, alerts, drill)

    # -- the PlayerFactory's hook
    def resolve(self, source: StreamSource) -> StreamSource:
        """`source` as the players reach it: a served demo stream's loopback address, else `source` itself."""
        camera = self._streams.get(source.url)
        key = demo_key(source.url) if camera is not None else None
        if key is None or key.camera != camera or not self.gateway.running:
            return source
        target = self.gateway.url_for(camera, key.protocol)
        if target is None:
            return source
        protocol = StreamProtocol.WHEP if key.protocol == "whep" else StreamProtocol.HLS
        return replace(source, url=target, protocol=protocol)

    # -- lifecycle
    def start(self) -> "DemoGatewayService":
        self.gateway.start()
        if self.alerts is not None and self.drill_camera_id is not None:
            self._scheduler = threading.Thread(target=self._alert_schedule, name="demo-owner-alerts", daemon=True)
            self._scheduler.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._scheduler is not None:
            self._scheduler.join(5)
        self.gateway.stop()
        log.info("demo gateway stopped")

    def _alert_schedule(self) -> None:
        while not self._stop.is_set():
            self.raise_drill_alert()
            if self._stop.wait(self.alert_every_s):
                return

    def raise_drill_alert(self) -> bool:
        """The demo owner raises an alert on the drill camera unless one is in force; whether one was raised."""
        with self._raising:
            return self._raise_drill_alert()

    def _raise_drill_alert(self) -> bool:
        now = self.clock()
        try:
            if any(a.camera_id == self.drill_camera_id for a in self.alerts.active_alerts(now)):
                return False
            self.alerts.raise_alert(DEMO_OWNER, now, camera_id=self.drill_camera_id, minutes=ALERT_MINUTES,
                                    source=GrantSource.APP)
        except Exception:  # noqa: BLE001 - the schedule tries again next time; the console goes on
            log.warning("the demo owner's alert could not be raised", exc_info=True)
            return False
        self.alerts_raised += 1
        return True


def start_demo_gateway(setting: str, database: Database, cipher: ContactCipher, alerts=None,
                       **options) -> DemoGatewayService | None:
    """The running gateway for this registry under the setting demo_gateway (auto | off), or None."""
    if setting != "auto":
        return None
    with database.reader.connect() as conn:
        if not is_demo_registry(conn):
            return None
    try:
        return DemoGatewayService.from_registry(database, cipher, alerts, **options).start()
    except Exception:  # noqa: BLE001 - without the gateway the demo cameras stay unreachable, as registered
        log.exception("the demo gateway could not start")
        return None
