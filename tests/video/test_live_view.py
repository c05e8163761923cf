"""A ViewingService authorization becomes a LiveView a tile can play, with credentials kept out of sight."""

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from console.domain.cameras import Stream, StreamProtocol
from console.services.viewing import StreamCredentials
from console.video.view import LiveView


def test_from_authorization_keeps_credentials_apart_and_picks_streams():
    now = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)
    stream = Stream(protocol=StreamProtocol.WHEP, url="https://gw.example/cam/7", has_credentials=True)
    auth = SimpleNamespace(session_id=31, camera_id=7, stream=stream, url=stream.url,
                           credentials=StreamCredentials("viewer", "pa55-word"), expires_at=now + timedelta(minutes=15))
    view = LiveView.from_authorization(auth, 7, "Oak Ave 3 porch", user="d.smith", incident="CAD-1",
                                       sub_url="https://gw.example/cam/7/sub")
    assert view.session_id == 31 and view.remaining_seconds(now) == 900
    assert view.main.url == "https://gw.example/cam/7" and view.main.password == "pa55-word"
    assert view.main.kind is StreamProtocol.WHEP and view.sub.kind is StreamProtocol.WHEP
    assert view.source_for(maximised=False) is view.sub and view.source_for(maximised=True) is view.main
    assert "pa55-word" not in repr(view)
