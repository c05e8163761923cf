"""A local XYZ tile server for tests: answers /{z}/{x}/{y}.png with a PNG and records each request's User-Agent."""

from __future__ import annotations

import re

from tests.support.local_http import LocalHttpServer, QuietHandler

# The smallest valid PNG (1x1, grey): enough for the browser to count the tile as loaded.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000" "3a7e9b55"
    "0000000a49444154789c63680000008200815d3b2e5b0000000049454e44ae426082")


class TileServer(LocalHttpServer):
    def __init__(self):
        self.requests: list[tuple[str, str]] = []
        server = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802
                server.requests.append((self.path, self.headers.get("User-Agent", "")))
                if not re.fullmatch(r"/\d+/\d+/\d+\.png", self.path):
                    self.send_error(404)
                    return
                self.reply("image/png", PNG)

        super().__init__(Handler)
        self.template = f"{self.base_url}/{{z}}/{{x}}/{{y}}.png"
