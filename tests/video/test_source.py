"""Stream sources keep credentials out of URLs, reprs and messages."""

from console.domain.cameras import StreamProtocol
from console.video.player import ErrorKind, StreamError
from console.video.source import StreamSource, protocol_of, redact


def test_from_url_splits_credentials_and_quotes_them_back():
    source = StreamSource.from_url("rtsp://officer:p%40ss%3Aw@10.0.0.5:554/stream1")
    assert source.url == "rtsp://10.0.0.5:554/stream1"
    assert (source.username, source.password) == ("officer", "p@ss:w")
    assert source.url_with_credentials() == "rtsp://officer:p%40ss%3Aw@10.0.0.5:554/stream1"


def test_repr_str_and_display_url_never_show_secrets():
    source = StreamSource.from_url("rtsp://officer:hunter22@10.0.0.5/s", token="tok-998877")
    for text in (repr(source), str(source), source.display_url, source.redact(source.url_with_credentials())):
        assert "hunter22" not in text and "tok-998877" not in text
    assert "10.0.0.5" in source.display_url


def test_redact_scrubs_userinfo_query_secrets_and_known_values():
    text = ("failed rtsp://a:b@host/x and https://u:pw@gw/whep?token=abc&cam=1 "
            "and rtsp://host/?password=zzz then leaked hunter22")
    out = redact(text, ("hunter22",))
    assert "a:b@" not in out and "u:pw@" not in out and "abc" not in out and "zzz" not in out
    assert "hunter22" not in out
    assert "cam=1" in out and "rtsp://***@host/x" in out


def test_protocol_detection():
    assert protocol_of("rtsp://h/x") is StreamProtocol.RTSP
    assert protocol_of("rtsps://h/x") is StreamProtocol.RTSPS
    assert protocol_of("https://gw/cam/whep") is StreamProtocol.WHEP
    assert protocol_of("http://h/live/index.m3u8") is StreamProtocol.HLS
    assert protocol_of("http://h/video.mjpg") is StreamProtocol.HTTP
    assert protocol_of("/tmp/clip.mp4") is None


def test_stream_errors_are_one_sentence_with_their_kind():
    error = StreamError(ErrorKind.UNAUTHORIZED)
    assert error.final and "credentials" in str(error) and "\n" not in str(error)
    assert not StreamError(ErrorKind.UNREACHABLE).final
