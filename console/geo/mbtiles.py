"""MBTiles files (SQLite, TMS row order): the offline tiles a field laptop carries, and a writer for making them."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

from console.errors import UserError


class MBTiles:
    """Reads tiles by XYZ address. One connection per thread: sqlite3 connections must not cross threads."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        if not self.path.is_file():
            raise UserError(f"the offline tiles file {self.path} does not exist: fix the setting mbtiles_path")
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            self.metadata = dict(self._conn().execute("SELECT name, value FROM metadata").fetchall())
            self._conn().execute("SELECT 1 FROM tiles LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            raise UserError(f"{self.path} is not an MBTiles file ({exc}): fix the setting mbtiles_path") from None

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @property
    def image_format(self) -> str:
        return self.metadata.get("format", "png")

    @property
    def max_zoom(self) -> int:
        return int(self.metadata.get("maxzoom", 19))

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile's image bytes, or None when the file has no such tile."""
        tms_row = (1 << z) - 1 - y  # MBTiles counts rows from the south
        row = self._conn().execute(
            "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?", (z, x, tms_row)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


def write_mbtiles(path: Path | str, tiles: dict[tuple[int, int, int], bytes], name: str = "tiles",
                  image_format: str = "png") -> None:
    """Write {(z, x, y): image bytes} as an MBTiles file (used to build test and demo tile sets)."""
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        conn.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
        conn.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        zooms = [z for z, _, _ in tiles] or [0]
        conn.executemany("INSERT INTO metadata VALUES (?, ?)", [
            ("name", name), ("format", image_format), ("minzoom", str(min(zooms))), ("maxzoom", str(max(zooms)))])
        conn.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)",
                         [(z, x, (1 << z) - 1 - y, data) for (z, x, y), data in tiles.items()])
