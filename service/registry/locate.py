"""Deriving country and province from a location, with the boundaries the product ships."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

_EXPLAIN = {
    "at_sea": "it lies outside every country (at sea?)",
    "swapped_lat_lon": (
        "it lies outside every country, but with latitude and longitude swapped it falls on land"
    ),
    "out_of_range": "latitude or longitude is out of range",
}


@dataclass(frozen=True, slots=True)
class Placed:
    country: str | None
    admin1: str | None
    flag: str | None

    @property
    def doubtful(self) -> bool:
        """At sea, swapped or out of range: refused unless the caller confirms. A point snapped to
        a nearby coast is not doubtful: the boundaries are generalised."""
        return self.flag is not None and self.flag != "snapped"

    def explain(self) -> str:
        return _EXPLAIN.get(self.flag or "", self.flag or "")


class Locator(Protocol):
    def locate(self, *, lon: float, lat: float) -> Placed: ...

    def locate_many(self, lons: Sequence[float], lats: Sequence[float]) -> list[Placed]: ...


class AdminLocator:
    """Backed by ``geo.admin.AdminAreas`` (loaded once per process)."""

    def __init__(self) -> None:
        from geo.admin import AdminAreas

        self._areas = AdminAreas.load()

    def locate(self, *, lon: float, lat: float) -> Placed:
        found = self._areas.locate(lon, lat)
        return Placed(found.country, found.admin1, found.flag)

    def locate_many(self, lons: Sequence[float], lats: Sequence[float]) -> list[Placed]:
        countries, admin1, flags = self._areas.locate_many(
            np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
        )
        return [Placed(c, a, f) for c, a, f in zip(countries, admin1, flags, strict=True)]


@lru_cache(maxsize=1)
def default_locator() -> AdminLocator:
    return AdminLocator()


class LazyLocator:
    """Loads the boundaries on first use, so that processes which never locate pay nothing."""

    def locate(self, *, lon: float, lat: float) -> Placed:
        return default_locator().locate(lon=lon, lat=lat)

    def locate_many(self, lons: Sequence[float], lats: Sequence[float]) -> list[Placed]:
        return default_locator().locate_many(lons, lats)
