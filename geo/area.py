"""Areas and area shares, computed in an equal-area projection, never in square degrees."""

from __future__ import annotations

from functools import lru_cache

import shapely
from pyproj import CRS, Transformer
from shapely.geometry.base import BaseGeometry

#: NSIDC EASE-Grid 2.0 Global: a cylindrical equal-area projection valid for all longitudes,
#: so areas on both sides of the antimeridian are measured consistently.
EQUAL_AREA = CRS.from_epsg(6933)


@lru_cache(maxsize=1)
def _to_equal_area() -> Transformer:
    return Transformer.from_crs(CRS.from_epsg(4326), EQUAL_AREA, always_xy=True)


def area_km2(geometry: BaseGeometry) -> float:
    """Area of a (Multi)Polygon given in EPSG:4326 (lon, lat), in square kilometres."""
    projected = shapely.transform(geometry, _to_equal_area().transform, interleaved=False)
    return float(projected.area) / 1e6


def area_share(area: BaseGeometry, zone: BaseGeometry) -> float:
    """The share (0 to 1) of ``area`` that lies inside ``zone``, both in EPSG:4326.

    Measured in an equal-area projection, so that a square degree near the equator does not
    weigh the same as one in the far north.
    """
    whole = area_km2(area)
    if whole <= 0:
        return 0.0
    if not shapely.intersects(area, zone):
        return 0.0
    inside = area_km2(shapely.intersection(area, zone))
    return max(0.0, min(1.0, inside / whole))
