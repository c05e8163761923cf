"""Child process for the libVLC window test: under Xvfb, libVLC draws an HLS stream into a Qt native window.

Usage: python vlc_window_stream.py URL  (DISPLAY set, QT_QPA_PLATFORM=xcb); prints one JSON line.
"""

import json
import sys
import time

from PySide6.QtWidgets import QApplication

from console.gui.video.vlc_surface import VlcSurface
from console.video.factory import PlayerFactory
from console.video.source import StreamSource


def main() -> None:
    app = QApplication([])
    surface = VlcSurface()
    surface.resize(320, 240)
    surface.show()
    factory = PlayerFactory()
    player = surface.create_player(factory, StreamSource(sys.argv[1]))
    player.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and player.stats.frames < 25:
        app.processEvents()
        time.sleep(0.02)
    image = surface.screen().grabWindow(int(surface.winId())).toImage()
    colours = {image.pixel(x, y) for x in range(0, image.width(), 8) for y in range(0, image.height(), 8)}
    print(json.dumps({"frames": player.stats.frames, "state": player.state.value, "colours": len(colours),
                      "width": image.width(), "codec": player.stats.info.codec}), flush=True)
    player.stop()
    player.join(10)
    factory.close()


if __name__ == "__main__":
    main()
