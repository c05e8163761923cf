"""`rtic-console stream probe URL`: play a newly connected live camera headless and report what arrives."""

from __future__ import annotations

import json
import logging

from console.cli.args import number
from console.errors import UserError

log = logging.getLogger(__name__)


def register(subparsers, common) -> None:
    parser = subparsers.add_parser("stream", help="live streams: probe a camera's stream", parents=[common])
    actions = parser.add_subparsers(dest="stream_action", metavar="ACTION", required=True)
    probe = actions.add_parser(
        "probe", parents=[common],
        help="play a stream without a window for a few seconds and report codec, size, frame rate and errors")
    probe.add_argument("url", metavar="URL", help="rtsp://, rtsps://, a WHEP http(s) URL, HLS .m3u8 or HTTP")
    probe.add_argument("--backend", choices=["auto", "vlc", "ffmpeg", "webrtc"], default="auto")
    probe.add_argument("--seconds", type=number("--seconds", 0.1, 600), default=5.0, help="how long to play after the first frame (default 5)")
    probe.add_argument("--transport", choices=["tcp", "udp"], default="tcp", help="RTSP transport (default tcp)")
    probe.add_argument("--reconnect", action="store_true",
                       help="reconnect as a live view does and count the reconnects (default: the first failure ends it)")
    probe.add_argument("--token", help="bearer token for a WHEP gateway (or set RTIC_STREAM_TOKEN)")
    probe.add_argument("--ca-file", metavar="PEM",
                       help="RTSPS/HTTPS: also trust the CAs in this PEM file (as the setting rtsps_ca_file)")
    probe.add_argument("--pin", metavar="SHA256",
                       help="RTSPS/HTTPS: accept only the certificate with this SHA-256 fingerprint (self-signed "
                            "gateways); `openssl x509 -noout -fingerprint -sha256` prints it")
    probe.add_argument("--json", action="store_true", help="print one JSON object")
    probe.set_defaults(func=_probe)


def _probe(args) -> int:
    import os

    from console.video.probe import probe
    from console.video.source import StreamSource, protocol_of

    if args.seconds <= 0 or args.seconds > 600:
        raise UserError("--seconds must be between 0 and 600.")
    if protocol_of(args.url) is None and not os.path.exists(args.url):
        raise UserError("The URL must start with rtsp://, rtsps://, http:// or https:// (or be a file).")
    pin = None
    if args.pin:
        from console.domain.cameras import normalize_fingerprint

        try:
            pin = normalize_fingerprint(args.pin)
        except ValueError as exc:
            raise UserError(f"--pin: {exc}.") from None
    if args.ca_file and not os.path.isfile(args.ca_file):
        raise UserError(f"--ca-file: there is no file {args.ca_file!r}.")
    source = StreamSource.from_url(args.url, transport=args.transport,
                                   token=args.token or os.environ.get("RTIC_STREAM_TOKEN"),
                                   ca_file=args.ca_file, pin_sha256=pin)
    result = probe(source, backend=args.backend, seconds=args.seconds, reconnect=args.reconnect)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        _print_human(result)
    return 0 if result.ok else 1


def _print_human(result) -> None:
    print(f"stream:       {result.url}")
    print(f"backend:      {result.backend or '-'}")
    if result.frames:
        size = f"{result.width}x{result.height}" if result.width else "unknown"
        print(f"codec:        {result.codec or 'unknown'}")
        print(f"resolution:   {size}")
        print(f"frame rate:   {result.fps or 'unknown'}")
        print(f"transport:    {result.transport or 'unknown'}")
        decoder = result.decoder
        if decoder:
            note = result.decoder_note
            print(f"decoder:      {decoder}" + (f" ({note})" if note and decoder == "software" else ""))
        print(f"key frames:   every {result.key_frame_interval_s} s" if result.key_frame_interval_s
              else "key frames:   interval unknown")
        print(f"first frame:  {result.first_frame_ms} ms")
        print(f"frames:       {result.frames} decoded, {result.lost} lost in {result.seconds} s")
    print(f"reconnects:   {result.reconnects}")
    print(f"result:       {'ok, pictures until the end' if result.ok else 'not ok'}")
    if result.error:
        print(f"error:        {result.error}")
