"""MBTiles: XYZ addresses map to TMS rows; a missing or foreign file is a sentence, not a crash."""

from __future__ import annotations

import sqlite3

import pytest

from console.errors import UserError
from console.geo.mbtiles import MBTiles, write_mbtiles


def test_tiles_are_found_by_xyz_address(tmp_path):
    path = tmp_path / "town.mbtiles"
    write_mbtiles(path, {(1, 0, 0): b"north-west", (1, 1, 1): b"south-east", (3, 2, 5): b"z3"})
    tiles = MBTiles(path)
    try:
        assert tiles.tile(1, 0, 0) == b"north-west"
        assert tiles.tile(1, 1, 1) == b"south-east"
        assert tiles.tile(3, 2, 5) == b"z3"
        assert tiles.tile(1, 0, 1) is None
        with sqlite3.connect(path) as conn:  # stored in TMS order: row 0 is the south
            assert conn.execute("SELECT tile_row FROM tiles WHERE tile_data = ?", (b"north-west",)).fetchone() == (1,)
        assert tiles.max_zoom == 3 and tiles.image_format == "png"
    finally:
        tiles.close()


def test_missing_or_foreign_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        MBTiles(tmp_path / "none.mbtiles")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE x (y)")
    with pytest.raises(UserError, match="not an MBTiles file"):
        MBTiles(other)
