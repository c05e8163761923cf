"""A synthetic street scene for one demo camera: a road seen from the camera's direction, cars and people moving
along it, the camera's label and the time burnt in, so a dispatcher can tell feeds apart and see the latency."""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timezone

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT, FPS = 640, 360, 10
_CAR_COLOURS = ((200, 40, 40), (30, 90, 180), (230, 230, 230), (40, 40, 40), (220, 180, 40), (60, 140, 80))
_SHIRTS = ((180, 60, 60), (60, 60, 160), (200, 200, 60), (90, 90, 90), (30, 130, 130))


def _rng(label: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(label.encode("utf-8")).digest()[:8], "big"))


class StreetScene:
    """Draws frame n of a camera's scene; the same label always gives the same street."""

    def __init__(self, label: str, width: int = WIDTH, height: int = HEIGHT, fps: int = FPS):
        self.label = label[:60]
        self.width, self.height, self.fps = width, height, fps
        rng = _rng(label)
        self.horizon = int(height * rng.uniform(0.30, 0.42))
        self.road_top = int(height * rng.uniform(0.58, 0.64))
        self.road_bottom = min(height - 8, self.road_top + int(height * 0.26))
        self.background = self._background(rng)
        lanes = (self.road_top + (self.road_bottom - self.road_top) // 4,
                 self.road_top + 3 * (self.road_bottom - self.road_top) // 4)
        self.cars = [(rng.choice(_CAR_COLOURS), lanes[i % 2], (1 if i % 2 else -1) * rng.uniform(40, 110),
                      rng.uniform(0, width + 200), rng.randint(70, 110)) for i in range(rng.randint(3, 5))]
        self.people = [(rng.choice(_SHIRTS), rng.choice((-1, 1)) * rng.uniform(8, 22), rng.uniform(0, width),
                        self.road_top - rng.randint(4, 22)) for _ in range(rng.randint(2, 5))]
        # Large enough to read on a small wall tile (a 640-pixel picture shown about 200 pixels wide).
        self.font = ImageFont.load_default(size=28)
        self.small = ImageFont.load_default(size=22)
        while self.font.getlength(self.label) > width - 24 and len(self.label) > 4:
            self.label = self.label[:-2].rstrip() + "…"

    def _background(self, rng: random.Random) -> Image.Image:
        w, h = self.width, self.height
        image = Image.new("RGB", (w, h))
        draw = ImageDraw.Draw(image)
        sky = np.linspace(np.array(rng.choice(((120, 160, 210), (150, 170, 190), (90, 110, 150)))),
                          np.array((200, 210, 220)), self.horizon).astype(np.uint8)
        image.paste(Image.fromarray(np.repeat(sky[:, None, :], w, axis=1)), (0, 0))
        x = 0
        while x < w:  # the buildings across the street
            bw, bh = rng.randint(60, 140), rng.randint(int(h * 0.15), int(h * 0.4))
            shade = rng.randint(70, 170)
            colour = (shade, int(shade * rng.uniform(0.8, 1.0)), int(shade * rng.uniform(0.7, 0.95)))
            top = self.road_top - 26 - bh
            draw.rectangle((x, top, x + bw, self.road_top - 26), fill=colour)
            for wy in range(top + 10, self.road_top - 40, 22):
                for wx in range(x + 8, x + bw - 14, 20):
                    lit = rng.random() < 0.35
                    draw.rectangle((wx, wy, wx + 9, wy + 12), fill=(240, 220, 130) if lit else (50, 60, 70))
            x += bw + rng.randint(0, 12)
        draw.rectangle((0, self.road_top - 26, w, self.road_top), fill=(150, 150, 145))  # far sidewalk
        draw.rectangle((0, self.road_top, w, self.road_bottom), fill=(55, 55, 58))  # the road
        middle = (self.road_top + self.road_bottom) // 2
        for dx in range(0, w, 48):
            draw.rectangle((dx, middle - 2, dx + 26, middle + 2), fill=(230, 200, 60))
        draw.rectangle((0, self.road_bottom, w, h), fill=(140, 140, 135))  # near sidewalk
        return image

    def frame(self, index: int, now: datetime | None = None) -> np.ndarray:
        """Picture `index` (height x width x 3, RGB uint8) with `now` burnt in."""
        t = index / self.fps
        image = self.background.copy()
        draw = ImageDraw.Draw(image)
        span = self.width + 240
        for colour, y, speed, start, length in self.cars:
            x = (start + speed * t) % span - 120
            top = y - 16
            draw.rectangle((x, top, x + length, y + 10), fill=colour)
            draw.rectangle((x + length * 0.25, top - 14, x + length * 0.75, top), fill=colour)
            draw.rectangle((x + length * 0.3, top - 11, x + length * 0.7, top - 2), fill=(150, 200, 230))
            for wheel in (x + 14, x + length - 26):
                draw.ellipse((wheel, y + 2, wheel + 14, y + 16), fill=(15, 15, 15))
        for shirt, speed, start, feet in self.people:
            x = (start + speed * t) % (self.width + 40) - 20
            step = 3 if int(t * 4) % 2 else -3
            draw.line((x, feet - 14, x - step, feet), fill=(40, 40, 70), width=3)
            draw.line((x, feet - 14, x + step, feet), fill=(40, 40, 70), width=3)
            draw.rectangle((x - 5, feet - 32, x + 5, feet - 14), fill=shirt)
            draw.ellipse((x - 5, feet - 43, x + 5, feet - 33), fill=(225, 190, 160))
        now = now or datetime.now(timezone.utc)
        clock = now.strftime("%Y-%m-%d %H:%M:%S.") + f"{now.microsecond // 100000} UTC"
        self._caption(draw, (8, 8), self.label, self.font)
        self._caption(draw, (self.width - 8, self.height - 8), clock, self.small, anchor="rd")
        self._caption(draw, (8, self.height - 8), f"#{index}", self.small, anchor="ld")
        return np.asarray(image)

    @staticmethod
    def _caption(draw: ImageDraw.ImageDraw, xy, text: str, font, anchor: str = "la") -> None:
        box = draw.textbbox(xy, text, font=font, anchor=anchor)
        draw.rectangle((box[0] - 4, box[1] - 3, box[2] + 4, box[3] + 3), fill=(0, 0, 0))
        draw.text(xy, text, font=font, fill=(255, 255, 255), anchor=anchor)
