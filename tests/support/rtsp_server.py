"""A real GStreamer RTSP server for tests and benchmarks; run it with Debian's /usr/bin/python3 (GI bindings).

Prints `READY <port>` on stdout once it listens (port 0 picks a free one), then serves until killed.
Mounts: /cam (videotestsrc + H.264, or --codec h265 / mjpeg; --frames N ends it, --gop-seconds sets the key-frame interval, --shared
with --camera-keys makes it a camera: one running encoder, no extra key frame for a joining viewer) and /stamp (frames carrying the wall-clock time as a barcode, see
`stamp_code.py`, for glass-to-glass latency). Optional Basic or Digest auth, TCP/UDP/both transports.
"""

import argparse
import os
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import Gio, GLib, Gst, GstRtsp, GstRtspServer, GstVideo  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stream_stamp import stamp_frame_i420  # noqa: E402

ENCODERS = {
    "h264": "x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate={kbps}",
    "h265": "x265enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate={kbps}",
    "mjpeg": "videoconvert ! video/x-raw,format=I420 ! jpegenc quality=70",  # RTP JPEG carries 4:2:0/4:2:2 only
}
PAYLOADERS = {
    "h264": "rtph264pay name=pay0 pt=96 config-interval=1",
    "h265": "rtph265pay name=pay0 pt=96 config-interval=1",
    "mjpeg": "rtpjpegpay name=pay0 pt=26",
}
CODEC = "h264"  # set from --codec in main()
PATTERN = "ball"  # --pattern: videotestsrc's; "snow" keeps the encoder at its bit rate, as a busy scene does


def _encode(gop, kbps):
    """The encoder and payloader of the codec --codec chose."""
    return f"{ENCODERS[CODEC].format(gop=gop, kbps=kbps)} ! {PAYLOADERS[CODEC]}"


def _test_pipeline(w, h, fps, gop, kbps, frames=-1):
    return (f"( videotestsrc is-live=true pattern={PATTERN} num-buffers={frames} "
            f"! video/x-raw,width={w},height={h},framerate={fps}/1 "
            f"! timeoverlay font-desc=\"Sans 12\" ! {_encode(gop, kbps)} )")


def _stamp_pipeline(w, h, fps, gop, kbps):
    return (f"( appsrc name=src is-live=true do-timestamp=true format=time "
            f"caps=video/x-raw,format=I420,width={w},height={h},framerate={fps}/1 "
            f"! {_encode(gop, kbps)} )")


def _feed_stamps(appsrc, w, h, fps):
    """Push frames stamped with the time they are made, at the frame rate, until the media goes away."""
    period = 1.0 / fps
    nxt = time.monotonic()
    while True:
        data = stamp_frame_i420(w, h, int(time.time() * 1000))
        if appsrc.emit("push-buffer", Gst.Buffer.new_wrapped(data)) != Gst.FlowReturn.OK:
            return
        nxt += period
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            nxt = time.monotonic()


def _running_camera(factory, w, h, fps, gop, kbps):
    """One encoder that never stops nor re-keys; each viewer's media is an appsrc fed its encoded pictures."""
    caps_filter = {"h264": "video/x-h264,stream-format=avc,alignment=au",
                   "h265": "h265parse ! video/x-h265,stream-format=hvc1,alignment=au"}[CODEC]
    encoder = Gst.parse_launch(
        f"videotestsrc is-live=true pattern={PATTERN} ! video/x-raw,width={w},height={h},framerate={fps}/1 "
        f"! timeoverlay font-desc=\"Sans 12\" ! {ENCODERS[CODEC].format(gop=gop, kbps=kbps)} ! {caps_filter} "
        f"! appsink name=sink emit-signals=true sync=false max-buffers=5 drop=true")
    viewers = []
    lock = threading.Lock()
    caps = {}  # the encoder's caps (SPS/PPS in codec_data): the SDP's sprop-parameter-sets, as a camera's has
    have_caps = threading.Event()

    def on_sample(sink):
        sample = sink.emit("pull-sample")
        buffer = sample.get_buffer()
        if not have_caps.is_set():
            caps["caps"] = sample.get_caps()
            have_caps.set()
        with lock:
            for src in list(viewers):
                copy = buffer.copy()
                copy.pts = copy.dts = Gst.CLOCK_TIME_NONE  # the viewer's appsrc stamps it on arrival
                if src.emit("push-buffer", copy) not in (Gst.FlowReturn.OK,):
                    viewers.remove(src)
        return Gst.FlowReturn.OK

    encoder.get_by_name("sink").connect("new-sample", on_sample)
    encoder.set_state(Gst.State.PLAYING)
    have_caps.wait(10)
    f = factory("( appsrc name=src is-live=true do-timestamp=true format=time "
                f"! rtp{CODEC}pay name=pay0 pt=96 config-interval=-1 )")

    def on_configure(_factory, media):
        src = media.get_element().get_child_by_name("src")
        src.set_property("caps", caps["caps"])
        with lock:
            viewers.append(src)

    f.connect("media-configure", on_configure)
    f._encoder = encoder  # keep it alive with the factory
    return f


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--pattern", default="ball", help="videotestsrc pattern for /cam (default ball)")
    ap.add_argument("--codec", choices=sorted(ENCODERS), default="h264",
                    help="what /cam and /stamp send (--camera-keys: h264 or h265)")
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--kbps", type=int, default=800)
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--auth", choices=["basic", "digest"], default="basic")
    ap.add_argument("--transport", choices=["tcp", "udp", "both"], default="both")
    ap.add_argument("--shared", action="store_true", help="one encoder for all clients of a mount")
    ap.add_argument("--gop-seconds", type=float, default=1.0, help="key-frame interval (default 1 s)")
    ap.add_argument("--camera-keys", action="store_true",
                    help="/cam as a real camera: one encoder runs from the start, whatever the viewers do; a new "
                         "viewer gets its pictures from there and waits for the next key frame (no re-key on PLAY)")
    ap.add_argument("--no-forced-key", action="store_true",
                    help="no forced key frame 20 ms after PLAY: a fresh /cam pipeline's first picture is its only one")
    ap.add_argument("--frames", type=int, default=-1, help="/cam ends after this many frames (default: never)")
    ap.add_argument("--tls-cert", help="PEM certificate: serve RTSPS (needs --user)")
    ap.add_argument("--tls-key", help="PEM key for --tls-cert")
    args = ap.parse_args()
    global CODEC, PATTERN
    CODEC, PATTERN = args.codec, args.pattern
    w, h = (int(v) for v in args.size.split("x"))
    gop = max(1, round(args.fps * args.gop_seconds))  # a key frame every second keeps first-frame time short

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    transports = {"tcp": GstRtsp.RTSPLowerTrans.TCP, "udp": GstRtsp.RTSPLowerTrans.UDP,
                  "both": GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP}[args.transport]

    def factory(launch):
        f = GstRtspServer.RTSPMediaFactory()
        f.set_launch(launch)
        f.set_shared(args.shared)
        f.set_protocols(transports)
        if args.user:
            f.add_role_from_structure(Gst.Structure.new_from_string(
                "user, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"))
        return f

    if args.camera_keys:
        mounts.add_factory("/cam", _running_camera(factory, w, h, args.fps, gop, args.kbps))
    else:
        mounts.add_factory("/cam", factory(_test_pipeline(w, h, args.fps, gop, args.kbps, args.frames)))
    stamp = factory(_stamp_pipeline(w, h, args.fps, gop, args.kbps))

    def on_configure(_factory, media):
        src = media.get_element().get_child_by_name("src")
        threading.Thread(target=_feed_stamps, args=(src, w, h, args.fps), daemon=True).start()

    stamp.connect("media-configure", on_configure)
    mounts.add_factory("/stamp", stamp)

    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "user")
        if args.auth == "digest":
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest(args.user, args.password, token)
        else:
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        if args.tls_cert:
            auth.set_tls_certificate(Gio.TlsCertificate.new_from_files(args.tls_cert, args.tls_key))
        server.set_auth(auth)

    def key_frame_now(media):
        # A new viewer gets a key frame at once, as a camera does on PLAY, instead of waiting out the GOP.
        pay = media.get_element().get_child_by_name("pay0")
        if pay is not None:
            pay.get_static_pad("src").send_event(
                GstVideo.video_event_new_upstream_force_key_unit(Gst.CLOCK_TIME_NONE, True, 0))
        return False

    def on_play(_client, ctx):
        if ctx.media is not None and not args.camera_keys and not args.no_forced_key:
            GLib.timeout_add(20, key_frame_now, ctx.media)

    server.connect("client-connected", lambda _srv, client: client.connect("play-request", on_play))
    server.attach(None)
    print(f"READY {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
