"""The tile-server client: URL template, User-Agent, and gaps (not errors) when a tile is missing or unreachable."""

from __future__ import annotations

import pytest

from console.errors import UserError
from console.geo.tile_source import UrlTiles
from tests.geo.nominatim_server import closed_port_url
from tests.geo.tile_server import PNG, TileServer


def test_tiles_are_fetched_with_the_user_agent():
    with TileServer() as server:
        tiles = UrlTiles(server.template, "RTIC-Test/1.0")
        assert tiles.tile(15, 9775, 12135) == PNG
        tiles.close()
    assert server.requests == [("/15/9775/12135.png", "RTIC-Test/1.0")]


def test_missing_or_unreachable_tiles_are_gaps():
    with TileServer() as server:
        assert UrlTiles(server.template.replace(".png", ".gif"), "UA").tile(1, 0, 0) is None
    assert UrlTiles(closed_port_url() + "/{z}/{x}/{y}.png", "UA", timeout_s=2).tile(1, 0, 0) is None


def test_a_template_without_placeholders_is_refused():
    with pytest.raises(UserError, match="must contain"):
        UrlTiles("https://tiles.example.gov/tile.png", "UA")
