"""A deterministic synthetic town around Chicopee, Massachusetts: a street grid, sites along it, and the people
and businesses that register cameras. All names, phones (555-01xx) and e-mails (example.com) are fictional.

The town grows with the registry so the density of registered cameras stays realistic (about 250 per km²): the
default 2,500 cameras cover downtown Chicopee, a million cover the whole Springfield metro area.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from console.domain.geo import EARTH_RADIUS_M

CENTRE = (42.1487, -72.6079)
# Chicopee, MA, as a box south,west,north,east (setting service_area): the default demo town lies well inside it.
SERVICE_AREA = "42.12,-72.66,42.21,-72.50"
CAMERAS_PER_KM2 = 250.0
BLOCK_M = 110.0  # distance between parallel streets
SETBACK_M = 14.0  # from the street's centre line to the front of a house

ARTERIALS = (
    "Chicopee St", "Front St", "Main St", "Center St", "Broadway", "Springfield St", "Memorial Dr", "East St",
    "Grattan St", "Exchange St", "Meadow St", "Granby Rd", "Montgomery St", "McKinstry Ave", "Fuller Rd",
    "Burnett Rd", "Pendleton Ave", "Prospect St", "Church St", "School St", "Market Sq", "James St", "Sheridan St",
    "Nash St", "Britton St", "Fairview Ave", "Hampden St", "Chicopee Falls Rd",
)
_NAMES = (
    "Maple", "Oak", "Elm", "Pine", "Cedar", "Birch", "Walnut", "Chestnut", "Spruce", "Willow", "Hickory", "Ash",
    "Laurel", "Magnolia", "Poplar", "Sycamore", "Linden", "Juniper", "Hawthorn", "Aspen", "Beech", "Holly",
    "Franklin", "Lincoln", "Adams", "Jefferson", "Madison", "Monroe", "Jackson", "Grant", "Garfield", "Pleasant",
    "Summer", "Spring", "Winter", "Highland", "Park", "Lake", "River", "Hill", "Valley", "Ridge", "Forest",
    "Orchard", "Meadowbrook", "Pleasantview", "Cabot", "Dwight", "Ames", "Belcher", "Calvin", "Dale", "Emerson",
    "Fletcher", "Gaylord", "Harvey", "Irene", "Kendall", "Lemay", "Moore", "Newbury", "Olivine", "Paderewski",
    "Quincy", "Royal", "Sampson", "Tremont", "Union", "Vernon", "Wilbraham", "Yelle", "Zane",
)
_SUFFIXES = ("St", "Ave", "Rd", "Dr", "Ln", "Ct", "Ter", "Pl")
FIRST_NAMES = (
    "Maria", "James", "Ana", "Robert", "Linda", "Michael", "Jennifer", "David", "Patricia", "Jose", "Susan", "Luis",
    "Karen", "Daniel", "Nancy", "Kevin", "Lisa", "Brian", "Carmen", "Paul", "Sandra", "Mark", "Donna", "Steven",
    "Michelle", "Thomas", "Yolanda", "Peter", "Anna", "Stanley", "Helen", "Edward", "Joanna", "Victor", "Irene",
)
LAST_NAMES = (
    "Lopez", "Kowalski", "Rivera", "Smith", "Nowak", "Johnson", "Santiago", "Brown", "Wisniewski", "Garcia",
    "Lewandowski", "Martinez", "Williams", "Cruz", "Dabrowski", "Jones", "Torres", "Miller", "Ortiz", "Davis",
    "Zielinski", "Reyes", "Wilson", "Ramos", "Moore", "Kaminski", "Morales", "Taylor", "Mazur", "Anderson",
)
BUSINESS_KINDS = (
    "Market", "Pharmacy", "Auto Repair", "Liquor Store", "Pizza", "Bakery", "Hardware", "Laundromat",
    "Gas Station", "Convenience Store", "Diner", "Barber Shop", "Bank Branch", "Dental Office", "Church",
    "Daycare", "Warehouse", "Car Wash", "Dry Cleaner", "Package Store",
)
ZIP_CODES = ("01013", "01020", "01021", "01022")


@dataclass(frozen=True)
class Street:
    name: str
    horizontal: bool  # runs east-west
    offset_m: float  # north (horizontal) or east (vertical) of the centre
    arterial: bool


@dataclass(frozen=True)
class Lot:
    """A site's place on the street grid."""

    address: str
    lat: float
    lon: float
    facing_deg: float  # bearing from the house towards its street
    arterial: bool


class Town:
    def __init__(self, cameras: int, seed: int):
        self.rng = random.Random(seed)
        area_km2 = max(cameras / CAMERAS_PER_KM2, 1.0)
        self.half_side_m = 1000.0 * math.sqrt(area_km2) / 2
        count = max(2, int(2 * self.half_side_m / BLOCK_M))
        names = iter(self._street_names(2 * count))
        self.streets = [
            Street(next(names), horizontal, -self.half_side_m + i * BLOCK_M, i % 8 == 4)
            for horizontal in (True, False)
            for i in range(count)
        ]
        self.arterials = [s for s in self.streets if s.arterial]

    def _street_names(self, count: int) -> list[str]:
        names = list(ARTERIALS)
        combos = [f"{n} {s}" for s in _SUFFIXES for n in _NAMES]
        self.rng.shuffle(combos)
        names.extend(combos)
        ordinal = 1
        while len(names) < count:  # a metro-sized town runs out of names: numbered streets, as real ones do
            names.append(f"{_ordinal(ordinal)} St")
            ordinal += 1
        return names[:count]

    def lots(self, wanted_sites: int):
        """Lots that register, street by street: spatially ordered, so ids and the spatial index stay local.

        Houses stand 12 to 28 m apart along both sides of every street; each registers with the probability
        that yields about `wanted_sites` sites in one pass (later passes fill in more, should one fall short).
        """
        rng, half = self.rng, self.half_side_m
        per_street = 2 * (2 * half / 20.0)  # both sides, 20 m apart on average
        chance = min(1.0, wanted_sites / (per_street * len(self.streets)))
        while True:
            for street in self.streets:
                along = -half + rng.uniform(0, 28)
                while along < half:
                    if rng.random() < chance:
                        business = rng.random() < (0.6 if street.arterial else 0.25)
                        yield self._lot(street, along, rng.choice((-1, 1))), business
                    along += rng.uniform(12, 28) / 2  # / 2: the two sides of the street share the walk

    def lot(self, business: bool) -> Lot:
        """One lot anywhere in town (businesses mostly on the arterials)."""
        rng = self.rng
        street = rng.choice(self.arterials) if business and rng.random() < 0.7 else rng.choice(self.streets)
        return self._lot(street, rng.uniform(-self.half_side_m, self.half_side_m), rng.choice((-1, 1)))

    def _lot(self, street: Street, along: float, side: int) -> Lot:
        number = max(1, int((along + self.half_side_m) / 7.5)) * 2 + (1 if side > 0 else 0)
        if street.horizontal:
            north, east = street.offset_m + side * SETBACK_M, along
            facing = 180.0 if side > 0 else 0.0
        else:
            north, east = along, street.offset_m + side * SETBACK_M
            facing = 270.0 if side > 0 else 90.0
        lat, lon = offset(CENTRE, north, east)
        zip_code = ZIP_CODES[int(abs(north + east) // 1500) % len(ZIP_CODES)]
        return Lot(f"{number} {street.name}, Chicopee, MA {zip_code}", lat, lon, facing, street.arterial)


def offset(origin: tuple[float, float], north_m: float, east_m: float) -> tuple[float, float]:
    lat0, lon0 = origin
    lat = lat0 + math.degrees(north_m / EARTH_RADIUS_M)
    lon = lon0 + math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat0))))
    return lat, lon


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def streets_geojson(town: Town) -> dict:
    """The town's road centerlines as GeoJSON, cut at every intersection and named with the NENA NG9-1-1 street
    name fields (St_Name, St_PosTyp), as an agency's GIS layer is: the map draws them where no tiles are set."""
    half = town.half_side_m
    crossings = sorted({-half, half, *(s.offset_m for s in town.streets)})
    features = []
    for street in town.streets:
        name, _, kind = street.name.rpartition(" ")
        if not name:
            name, kind = kind, ""
        for start, end in zip(crossings, crossings[1:]):
            ends = [(street.offset_m, along) if street.horizontal else (along, street.offset_m) for along in (start, end)]
            points = [offset(CENTRE, north, east) for north, east in ends]
            features.append({
                "type": "Feature",
                "properties": {"St_Name": name, "St_PosTyp": kind, "RoadClass": "Primary" if street.arterial else "Local"},
                "geometry": {"type": "LineString", "coordinates": [[round(lon, 7), round(lat, 7)] for lat, lon in points]},
            })
    return {"type": "FeatureCollection", "features": features}


def write_demo_streets(path, cameras: int = 2500, seed: int = 1) -> None:
    """The streets of the demo town that `cameras` and `seed` make, written as GeoJSON to `path`."""
    import json
    from pathlib import Path

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps(streets_geojson(Town(cameras, seed)), separators=(",", ":")), encoding="utf-8")
    temporary.replace(target)
