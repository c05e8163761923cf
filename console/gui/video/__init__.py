"""Live video widgets: the tile that paints a player's frames, the video wall, snapshots."""
