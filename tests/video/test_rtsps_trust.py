"""RTSPS certificates are verified before a stream opens: against a CA file (a test CA made with `cryptography`),
or a pinned SHA-256 fingerprint for a self-signed gateway; anything else is ErrorKind.UNTRUSTED with a sentence
that says why and what to do, and nothing is played (issue 17)."""

from __future__ import annotations

import pytest

from console.domain.cameras import normalize_fingerprint
from console.video.ffmpeg import FFmpegPlayer
from console.video.player import ErrorKind, PlayerState, StreamError
from console.video.source import StreamSource
from console.video.tls import check_certificate
from tests.support.rtsp_stream import RtspServer
from tests.support.stream_waits import Recorder, wait_until
from tests.support.test_ca import TestCA, self_signed
from tests.video.conftest import PASSWORD, USER


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return TestCA(tmp_path_factory.mktemp("ca"))


def _tls_server(issued):
    return RtspServer("--tls-cert", str(issued.cert), "--tls-key", str(issued.key), user=USER, password=PASSWORD)


@pytest.fixture(scope="module")
def ca_signed_server(_gstreamer, ca):
    server = _tls_server(ca.issue("camera", ["127.0.0.1"])).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def self_signed_server(_gstreamer, tmp_path_factory):
    issued = self_signed(tmp_path_factory.mktemp("self"), "gateway", ["127.0.0.1"])
    server = _tls_server(issued).start()
    server.issued = issued
    yield server
    server.stop()


def _url(server):
    return server.url("cam", USER, PASSWORD).replace("rtsp://", "rtsps://")


def _play(url, rec, **source_kw):
    player = FFmpegPlayer(StreamSource.from_url(url, **source_kw), connect_timeout=3.0, **rec.kw())
    player.start()
    return player


def _stop(player):
    player.stop()
    assert player.join(10), "the player thread did not finish"


def _refused(player, rec):
    assert wait_until(lambda: player.state is PlayerState.ERROR or player.stats.frames, 15)
    assert player.state is PlayerState.ERROR and player.stats.frames == 0
    assert player.error.kind is ErrorKind.UNTRUSTED and player.error.final
    assert not rec.seen(PlayerState.RECONNECTING)  # a wrong certificate does not heal by retrying
    assert PASSWORD not in str(player.error)
    return str(player.error)


def test_certificate_from_the_ca_file_plays(ca_signed_server, ca):
    rec = Recorder()
    player = _play(_url(ca_signed_server), rec, ca_file=str(ca.ca.cert))
    try:
        assert wait_until(lambda: player.stats.frames >= 3 or player.state is PlayerState.ERROR, 15)
        assert player.stats.frames >= 3, player.error
        assert player.stats.info.transport == "tcp"
    finally:
        _stop(player)


def test_certificate_without_its_ca_is_untrusted(ca_signed_server):
    rec = Recorder()
    player = _play(_url(ca_signed_server), rec)  # the system's CAs only: the test CA is not among them
    try:
        text = _refused(player, rec)
    finally:
        _stop(player)
    assert "unable to get local issuer certificate" in text and "rtsps_ca_file" in text
    assert text.startswith("The camera's certificate could not be verified")


def test_certificate_for_another_host_is_untrusted(_gstreamer, ca, tmp_path):
    server = _tls_server(ca.issue("elsewhere", ["camera-7.example.net"])).start()
    rec = Recorder()
    try:
        player = _play(_url(server), rec, ca_file=str(ca.ca.cert))
        try:
            text = _refused(player, rec)
        finally:
            _stop(player)
    finally:
        server.stop()
    assert "Hostname mismatch" in text or "IP address mismatch" in text


def test_self_signed_gateway_plays_with_its_pin(self_signed_server):
    rec = Recorder()
    pin = self_signed_server.issued.colon_fingerprint  # as `openssl x509 -fingerprint -sha256` shows it
    player = _play(_url(self_signed_server), rec, pin_sha256=pin)
    try:
        assert wait_until(lambda: player.stats.frames >= 3 or player.state is PlayerState.ERROR, 15)
        assert player.stats.frames >= 3, player.error
    finally:
        _stop(player)


def test_self_signed_gateway_without_a_pin_is_untrusted(self_signed_server):
    rec = Recorder()
    player = _play(_url(self_signed_server), rec)
    try:
        assert "self-signed certificate" in _refused(player, rec)
    finally:
        _stop(player)


def test_wrong_pin_is_untrusted_and_names_both_fingerprints(self_signed_server):
    rec = Recorder()
    wrong = "ab" * 32
    player = _play(_url(self_signed_server), rec, pin_sha256=wrong)
    try:
        text = _refused(player, rec)
    finally:
        _stop(player)
    assert "not the pinned AB:AB:AB" in text
    assert self_signed_server.issued.colon_fingerprint[:23] in text


def test_check_returns_the_fingerprint_and_refuses_a_missing_ca_file(self_signed_server, tmp_path):
    url = _url(self_signed_server)
    assert check_certificate(url, pin_sha256=self_signed_server.issued.sha256) == self_signed_server.issued.sha256
    with pytest.raises(StreamError) as missing:
        check_certificate(url, ca_file=str(tmp_path / "nope.pem"))
    assert missing.value.kind is ErrorKind.UNTRUSTED and "does not exist" in str(missing.value)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(StreamError) as unreadable:
        check_certificate(url, ca_file=str(garbage))
    assert unreadable.value.kind is ErrorKind.UNTRUSTED and "no readable PEM" in str(unreadable.value)


def test_plain_rtsp_server_on_an_rtsps_url_is_a_sentence(rtsp_server):
    with pytest.raises(StreamError) as caught:
        check_certificate(rtsp_server.url("cam").replace("rtsp://", "rtsps://"), timeout=3)
    assert caught.value.kind in (ErrorKind.UNTRUSTED, ErrorKind.TIMED_OUT)


@pytest.mark.parametrize("text", ["AB:" * 31 + "AB", "sha256 Fingerprint=" + "AB:" * 31 + "AB", "ab" * 32,
                                  "SHA256:" + "Ab" * 32, " " + "ab " * 32])
def test_fingerprint_forms_people_paste(text):
    assert normalize_fingerprint(text) == "ab" * 32


@pytest.mark.parametrize("text", ["", "ab" * 31, "zz" * 32, "ab" * 33, "md5:" + "ab" * 16])
def test_bad_fingerprints_are_one_sentence(text):
    with pytest.raises(ValueError, match="64 hex digits"):
        normalize_fingerprint(text)


def test_probe_cli_with_ca_file_and_pin(ca_signed_server, self_signed_server, ca, capsys):
    import json

    from console.cli import main

    assert main(["stream", "probe", _url(ca_signed_server), "--seconds", "0.5", "--json",
                 "--ca-file", str(ca.ca.cert)]) == 0
    good = json.loads(capsys.readouterr().out)
    assert good["ok"] and good["frames"] > 0
    assert main(["stream", "probe", _url(self_signed_server), "--seconds", "0.5", "--json",
                 "--pin", self_signed_server.issued.colon_fingerprint]) == 0
    assert json.loads(capsys.readouterr().out)["ok"]
    assert main(["stream", "probe", _url(self_signed_server), "--seconds", "0.5", "--json"]) == 1
    refused = json.loads(capsys.readouterr().out)
    assert refused["error_kind"] == "untrusted" and "self-signed" in refused["error"]
    assert PASSWORD not in json.dumps(refused)
    assert main(["stream", "probe", _url(self_signed_server), "--pin", "12:34"]) == 2
    assert "64 hex digits" in capsys.readouterr().err


def test_factory_gives_the_ca_file_setting_to_tls_streams(ca_signed_server, ca):
    from console.settings import Settings
    from console.video.factory import PlayerFactory

    assert Settings().rtsps_ca_file == ""
    factory = PlayerFactory(ca_file=str(ca.ca.cert))
    try:
        player = factory.create(StreamSource.from_url(_url(ca_signed_server)), "ffmpeg")
        assert player.source.ca_file == str(ca.ca.cert)
        own = factory.create(StreamSource.from_url(_url(ca_signed_server), ca_file="/own.pem"), "ffmpeg")
        assert own.source.ca_file == "/own.pem"
    finally:
        factory.close()


# --- WHEP over HTTPS: the same trust, through aiohttp (a CA context, or aiohttp.Fingerprint for a pin) ---------


@pytest.fixture(scope="module")
def https_whep(ca):
    from tests.support.whep_stream_server import WhepServer

    issued = ca.issue("gateway-https", ["127.0.0.1"])
    server = WhepServer(tls=(str(issued.cert), str(issued.key))).start()
    server.issued = issued
    yield server
    server.stop()


@pytest.fixture(scope="module")
def webrtc_loop():
    from console.video.aioloop import AsyncLoopThread

    thread = AsyncLoopThread("test-whep-tls")
    yield thread
    thread.close()


def _whep(server, loop, rec, **source_kw):
    from console.video.webrtc import WebRTCPlayer

    player = WebRTCPlayer(StreamSource(server.url("h264"), **source_kw), loop=loop, connect_timeout=5.0,
                          reconnect=False, **rec.kw())
    player.start()
    return player


@pytest.mark.parametrize("how", ["ca_file", "pin"])
def test_https_whep_gateway_plays_when_trusted(https_whep, webrtc_loop, ca, how):
    rec = Recorder()
    kw = {"ca_file": str(ca.ca.cert)} if how == "ca_file" else {"pin_sha256": https_whep.issued.colon_fingerprint}
    player = _whep(https_whep, webrtc_loop, rec, **kw)
    try:
        assert wait_until(lambda: player.stats.frames >= 3 or player.state is PlayerState.ERROR, 20)
        assert player.stats.frames >= 3, player.error
    finally:
        player.stop()
        assert player.join(10)


@pytest.mark.parametrize("how,says", [("none", "unable to get local issuer certificate"),
                                      ("wrong_pin", "not the pinned cdcdcdcd")])
def test_https_whep_gateway_untrusted(https_whep, webrtc_loop, how, says):
    rec = Recorder()
    player = _whep(https_whep, webrtc_loop, rec, **({"pin_sha256": "cd" * 32} if how == "wrong_pin" else {}))
    try:
        assert wait_until(lambda: player.state is PlayerState.ERROR or player.stats.frames, 20)
        assert player.stats.frames == 0 and player.error.kind is ErrorKind.UNTRUSTED, player.error
        assert says in str(player.error)
    finally:
        player.stop()
        assert player.join(10)


def test_a_server_answering_garbage_to_tls_is_one_sentence():
    """Hostile or confused: bytes that are not TLS in answer to the handshake."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer_garbage():
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"RTSP/1.0 400 Bad Request\r\n\r\n" + bytes(range(256)) * 4)

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    try:
        with pytest.raises(StreamError) as caught:
            check_certificate(f"rtsps://127.0.0.1:{listener.getsockname()[1]}/cam", timeout=5)
    finally:
        thread.join(5)
        listener.close()
    assert caught.value.kind is ErrorKind.UNTRUSTED and "did not complete a TLS handshake" in str(caught.value)


def test_a_silent_tls_server_times_out(silent_server):
    with pytest.raises(StreamError) as caught:
        check_certificate(f"rtsps://127.0.0.1:{silent_server.port}/cam", timeout=1)
    assert caught.value.kind is ErrorKind.TIMED_OUT


def test_nothing_listening_is_unreachable(silent_server):
    port = silent_server.port
    silent_server.close()
    with pytest.raises(StreamError) as caught:
        check_certificate(f"rtsps://127.0.0.1:{port}/cam", timeout=2)
    assert caught.value.kind is ErrorKind.UNREACHABLE
