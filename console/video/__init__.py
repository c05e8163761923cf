"""Stream clients behind one Player interface (libVLC, FFmpeg/PyAV, WebRTC/aiortc); frames out, no widgets."""

from console.video.factory import PlayerFactory, available_backends, choose_backend, create_player
from console.video.player import ErrorKind, Player, PlayerState, StreamError, VideoFrame
from console.video.source import StreamSource, redact
from console.video.view import LiveView

__all__ = ["ErrorKind", "LiveView", "Player", "PlayerFactory", "PlayerState", "StreamError", "StreamSource",
           "VideoFrame", "available_backends", "choose_backend", "create_player", "redact"]
