"""A WHEP endpoint made of GStreamer's webrtcbin (a WebRTC stack this project did not write), for the tests.

Run with Debian's /usr/bin/python3 (GI bindings); prints `READY <port>` once it listens. POST /whep/h264 or
/whep/vp8 with an SDP offer (recvonly video) -> 201, the answer, and Location /whep/session/<id>; DELETE that ends
the session; GET /sessions -> how many are open (so a test can tell a DELETE arrived). Each session is its own
pipeline: videotestsrc -> x264enc or vp8enc -> payloader -> webrtcbin. webrtcbin 1.22 answers with the
payloader's payload number, so the payloader takes the one the offer gave the codec, else the answer would name a
number the offerer never offered.
"""

import argparse
import http.server
import re
import threading
import uuid

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

ENCODERS = {
    "h264": ("x264enc tune=zerolatency speed-preset=ultrafast key-int-max=25 bitrate=600 "
             "! video/x-h264,profile=constrained-baseline ! rtph264pay config-interval=-1 aggregate-mode=zero-latency",
             "H264"),
    "vp8": ("vp8enc deadline=1 keyframe-max-dist=25 target-bitrate=600000 ! rtpvp8pay", "VP8"),
}
SESSIONS: dict = {}
LOCK = threading.Lock()


def _payload_number(offer: str, encoding: str) -> int | None:
    """The payload number the offer gives `encoding` (H.264: packetization-mode=1 preferred)."""
    numbers = re.findall(rf"(?im)^a=rtpmap:(\d+) {encoding}/90000", offer)
    if encoding == "H264":
        for pt in numbers:
            fmtp = re.search(rf"(?m)^a=fmtp:{pt} (.*)$", offer)
            if fmtp and "packetization-mode=1" in fmtp.group(1) and "42e01f" in fmtp.group(1).lower():
                return int(pt)
        for pt in numbers:
            fmtp = re.search(rf"(?m)^a=fmtp:{pt} (.*)$", offer)
            if fmtp and "packetization-mode=1" in fmtp.group(1):
                return int(pt)
    return int(numbers[0]) if numbers else None


def _answer(codec: str, offer: str, timeout: float = 10.0) -> tuple[str, str] | None:
    """Start a session for `offer`; (session id, answer SDP), or None when the offer has no such codec."""
    encoder, encoding = ENCODERS[codec]
    pt = _payload_number(offer, encoding)
    if pt is None:
        return None
    pipeline = Gst.parse_launch(
        "webrtcbin name=webrtc bundle-policy=max-bundle "
        "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=25/1 "
        f"! videoconvert ! queue ! {encoder} pt={pt} "
        f"! application/x-rtp,media=video,encoding-name={encoding},payload={pt} ! webrtc.")
    webrtc = pipeline.get_by_name("webrtc")
    gathered = threading.Event()

    def on_gathering(element, _pspec):
        if element.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            gathered.set()

    webrtc.connect("notify::ice-gathering-state", on_gathering)
    pipeline.set_state(Gst.State.PLAYING)
    for transceiver in [webrtc.emit("get-transceiver", i) for i in range(1)]:
        if transceiver is not None:
            transceiver.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
    _, message = GstSdp.SDPMessage.new_from_text(offer)
    promise = Gst.Promise.new()
    webrtc.emit("set-remote-description",
                GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, message), promise)
    promise.wait()
    reply = promise.get_reply()
    if reply is not None and reply.has_field("error"):
        raise RuntimeError(f"set-remote-description: {reply.get_value('error')}")
    promise = Gst.Promise.new()
    webrtc.emit("create-answer", None, promise)
    promise.wait()
    reply = promise.get_reply()
    if reply is None or not reply.has_field("answer"):
        raise RuntimeError(f"create-answer: {reply.to_string() if reply else 'no reply'}")
    answer = reply.get_value("answer")
    promise = Gst.Promise.new()
    webrtc.emit("set-local-description", answer, promise)
    promise.wait()
    gathered.wait(timeout)
    sdp = webrtc.get_property("local-description").sdp.as_text()
    session = uuid.uuid4().hex
    with LOCK:
        SESSIONS[session] = pipeline
    return session, sdp


def _end(session: str) -> bool:
    with LOCK:
        pipeline = SESSIONS.pop(session, None)
    if pipeline is None:
        return False
    pipeline.set_state(Gst.State.NULL)
    return True


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args):
        pass

    def _reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        offer = self.rfile.read(min(length, 100_000)).decode("utf-8", "replace")
        codec = self.path.rstrip("/").rsplit("/", 1)[-1]
        if not self.path.startswith("/whep/") or codec not in ENCODERS:
            return self._reply(404, b"no such stream")
        result = _answer(codec, offer)
        if result is None:
            return self._reply(400, b"the offer has no codec this stream sends")
        session, sdp = result
        self._reply(201, sdp.encode(), [("Content-Type", "application/sdp"),
                                        ("Location", f"/whep/session/{session}")])

    def do_DELETE(self):  # noqa: N802
        session = self.path.rsplit("/", 1)[-1]
        self._reply(200 if _end(session) else 404)

    def do_GET(self):  # noqa: N802
        if self.path == "/sessions":
            with LOCK:
                return self._reply(200, str(len(SESSIONS)).encode())
        self._reply(404)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    Gst.init(None)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"READY {server.server_address[1]}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
