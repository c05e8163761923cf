"""Helpers: the registry's demo stream URLs and playing a source with a real console player until it settles."""

from __future__ import annotations

import threading

from sqlalchemy import text

from console.video.factory import PlayerFactory
from console.video.player import PlayerState
from console.video.source import StreamSource


def registered_urls(database, like: str) -> list[tuple[int, str]]:
    with database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT camera_id, url FROM streams WHERE url LIKE :like ORDER BY id"), {"like": like})]


def credentials(database, cipher, url: str) -> tuple[str | None, str | None]:
    from console.store.registry import stream_credentials

    with database.engine.connect() as conn:
        stream_id = conn.execute(text("SELECT id FROM streams WHERE url = :u"), {"u": url}).scalar_one()
        return stream_credentials(conn, cipher, stream_id)


class Watch:
    """A real player of the console's factory, with what it reported."""

    def __init__(self, factory: PlayerFactory, source: StreamSource, frames_wanted: int = 5, **options):
        self.frames, self.states = [], []
        self.enough = threading.Event()
        self.failed = threading.Event()
        self.frames_wanted = frames_wanted
        self.player = factory.create(source, on_frame=self._frame, on_state=self._state, **options)

    def _frame(self, frame) -> None:
        self.frames.append(frame)
        if len(self.frames) >= self.frames_wanted:
            self.enough.set()

    def _state(self, state, error) -> None:
        self.states.append((state, error))
        if state in (PlayerState.ERROR, PlayerState.STALLED, PlayerState.RECONNECTING):
            self.failed.set()

    def __enter__(self) -> "Watch":
        self.player.start()
        return self

    def __exit__(self, *exc) -> None:
        self.player.stop()
        assert self.player.join(10), "the player did not let go of the stream"

    @property
    def errors(self) -> list:
        return [e for _s, e in self.states if e is not None]
