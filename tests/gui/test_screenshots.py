"""Pictures of the real window on the demo registry (dark/light, with/without offline tiles) in tests/output/.

The README's picture is made by `installer/dev.sh pictures` through the same driver as
`test_the_readme_picture_of_the_console` (tests/support/pictures.py). Each picture is checked for what a person
would look for: the incident ring's colour, camera-state colours, and more than a blank page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage

from console.app import render_screenshot
from console.cli import main as cli_main
from tests.gui.conftest import CENTRE
from tests.gui.tiles import make_mbtiles
from tests.support.pictures import console_picture

pytestmark = pytest.mark.gui
OUTPUT = Path(__file__).resolve().parents[1] / "output"
RING = QColor("#ff1f6a")
LIVE_NOW = QColor("#00b4ff")


def demo_registry(url: str, cameras: int) -> None:
    from console.services.demo import generate_demo
    from console.store.db import open_database
    from console.store.secrets import ContactCipher, load_contact_key

    database = open_database(url, create=True)
    try:
        generate_demo(database, ContactCipher(load_contact_key()), cameras=cameras, seed=1)
    finally:
        database.close()


def count_near(image: QImage, colour: QColor, tolerance: int = 40) -> int:
    """Pixels close to a colour, counted on every 3rd pixel each way (a 3 px ring line is still hit)."""
    small = image.scaled(image.width() // 3, image.height() // 3, mode=Qt.TransformationMode.FastTransformation)
    found = 0
    for y in range(small.height()):
        for x in range(small.width()):
            pixel = small.pixelColor(x, y)
            if (abs(pixel.red() - colour.red()) + abs(pixel.green() - colour.green())
                    + abs(pixel.blue() - colour.blue())) < tolerance:
                found += 1
    return found


def check_picture(path: Path, size: tuple[int, int]) -> QImage:
    image = QImage(str(path))
    assert not image.isNull(), path
    assert (image.width(), image.height()) == size
    assert count_near(image, RING) > 80, f"{path.name}: the incident ring is not visible"
    assert count_near(image, LIVE_NOW) > 8, f"{path.name}: no live-now camera is visible"
    return image


def test_screenshots_of_the_demo_registry(qtbot, sqlite_url, console_settings, tmp_path):
    OUTPUT.mkdir(exist_ok=True)
    demo_registry(sqlite_url, 2500)
    tiles = tmp_path / "chicopee.mbtiles"
    make_mbtiles(tiles, *CENTRE, zooms=range(14, 18), reach=5)
    size = (1600, 950)
    for theme in ("dark", "light"):
        for with_tiles in (False, True):
            settings = console_settings.replaced(mbtiles_path=str(tiles) if with_tiles else "")
            out = OUTPUT / f"console-{theme}{'-tiles' if with_tiles else ''}.png"
            render_screenshot(out, sqlite_url, theme=theme, size=size, settings=settings)
            image = check_picture(out, size)
            # A light window is mostly light, a dark one mostly dark (sampled on the left panels).
            sample = image.pixelColor(5, size[1] // 2).lightness()
            assert sample > 180 if theme == "light" else sample < 80


def test_the_readme_picture_of_the_console(qtbot, sqlite_url, console_settings):
    """Picked through the open-incidents list and a click on the nearest live-now camera, as a dispatcher does."""
    OUTPUT.mkdir(exist_ok=True)
    demo_registry(sqlite_url, 600)
    out = OUTPUT / "console-dark.png"
    image, shown = console_picture(out, sqlite_url, console_settings, size=(1600, 950))
    # the picked incident's label, shown as plain text (CAD text is never markup)
    assert shown["incident"].startswith("CHI-") and "Chicopee" in shown["incident"] and "<" not in shown["incident"]
    assert shown["camera"] and shown["state"] == "Live now" and shown["may_open"]
    # the detail's values are readable, not squeezed to nothing beside their captions
    assert "Chicopee" in shown["address"] and shown["address_width"] > 150, shown
    check_picture(out, (1600, 950))
    assert image.pixelColor(5, 475).lightness() < 80


def test_the_screenshot_command(qtbot, sqlite_url, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RTIC_MACHINE_SETTINGS", str(tmp_path / "none.toml"))
    monkeypatch.setenv("RTIC_USER_SETTINGS", str(tmp_path / "none.toml"))
    demo_registry(sqlite_url, 400)
    out = tmp_path / "shot.png"
    status = cli_main(["screenshot", str(out), "--db", sqlite_url, "--incident", str(CENTRE[0]), str(CENTRE[1]),
                       "--radius", "400", "--theme", "light", "--size", "1200x800"])
    assert status == 0
    assert str(out) in capsys.readouterr().out
    check_picture(out, (1200, 800))


@pytest.mark.parametrize("args, says", [
    (["--size", "huge"], "is not WIDTHxHEIGHT"),
    (["--radius", "5"], "out of range"),
    (["--incident", "95", "0"], "latitude 95"),
])
def test_the_screenshot_command_refuses_bad_values_in_one_sentence(sqlite_url, tmp_path, capsys, args, says):
    with pytest.raises(SystemExit) if "--incident" not in args else _returns(2) as result:
        result.value = cli_main(["screenshot", str(tmp_path / "x.png"), "--db", sqlite_url, *args])
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


class _returns:
    """Context for a CLI call expected to return an exit status instead of raising SystemExit."""

    def __init__(self, status: int):
        self.status = status
        self.value = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        assert exc[0] is None and self.value == self.status
        return False


def test_the_readme_pictures_of_the_demo_playing(qtbot, sqlite_url, console_settings, tmp_path):
    """The demo gateway on, a dispatcher signed in: the drill's panic alert opened with one click, three nearby demo
    feeds opened with Enter after one typed reason, then the send dialog with two marks placed from the keyboard; then
    the training site's wrong-password and offline cameras, each tile saying why with Retry."""
    from tests.support.pictures import MARK_TEXT, MAX_PNG_BYTES, REASON, demo_pictures
    from tests.support.pictures import demo_registry as first_start_demo  # with the training site and its drill

    OUTPUT.mkdir(exist_ok=True)
    first_start_demo(sqlite_url, 600)
    outs = [OUTPUT / name for name in ("console-demo-wall.png", "panic-alert.png", "bulletin-send.png")]
    facts = demo_pictures(*outs, sqlite_url, console_settings, tmp_path, training_out=OUTPUT / "training-failures.png")
    # The training site's failures, each in words a dispatcher can act on (the wrong password, the camera offline).
    assert len(facts["training_failed"]) == 2 and all(facts["training_failed"]), facts
    assert any("password" in why for why in facts["training_failed"]), facts
    assert facts["panic"].startswith("OWNER APP ALERT: camera Training: owner alert drill"), facts
    assert "owner alert" not in facts["incident"].lower() and facts["incident"].startswith("P"), facts
    assert facts["reason_typed"] == [REASON] and facts["playing"] >= 4 and facts["marks"] == 2, facts
    for out in outs:
        assert 0 < out.stat().st_size < MAX_PNG_BYTES, out
    wall, panic, bulletin = (QImage(str(out)) for out in outs)
    assert (wall.width(), wall.height()) == (panic.width(), panic.height()) == (1920, 1080)
    red = panic.pixelColor(20, 60)  # the bar across the top: red, and loud
    assert red.red() > 150 and red.green() < 80 and red.blue() < 90, red.name()
    assert bulletin.width() >= 1200 and MARK_TEXT
