"""Areas and area shares, computed in an equal-area projection, never in square degrees."""

from __future__ import annotations

from functools import lru_cache

import shapely
from pyproj import CRS, Transformer
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geo.circles import split_at_antimeridian
from geo.errors import GeometryError

#: NSIDC EASE-Grid 2.0 Global: a cylindrical equal-area projection of the whole world, so that
#: parts on both sides of the antimeridian are measured alike.
EQUAL_AREA = CRS.from_epsg(6933)
#: Longest edge, in degrees, before projecting. Zones have straight edges in lon/lat, which
#: the projection bends; shorter edges follow the bend, keeping areas exact to about 1e-5.
_EDGE_DEGREES = 0.1


@lru_cache(maxsize=1)
def _to_equal_area() -> Transformer:
    return Transformer.from_crs(CRS.from_epsg(4326), EQUAL_AREA, always_xy=True)


def _polygonal(geometry: BaseGeometry, name: str) -> Polygon | MultiPolygon:
    """The geometry checked to be a usable (Multi)Polygon in [-180, 180], repaired if invalid."""
    if not isinstance(geometry, Polygon | MultiPolygon):
        raise GeometryError(
            f"{name} must be a Polygon or MultiPolygon in EPSG:4326, not a "
            f"{getattr(geometry, 'geom_type', type(geometry).__name__)}",
            (name,),
        )
    if geometry.is_empty:
        raise GeometryError(f"{name} is empty: give a polygon that encloses an area", (name,))
    _, miny, _, maxy = geometry.bounds
    if miny < -90.0 or maxy > 90.0:
        raise GeometryError(
            f"{name} has latitudes beyond ±90: coordinates must be (lon, lat) degrees", (name,)
        )
    if not shapely.is_valid(geometry):
        # Shares of an invalid shape are undefined in GEOS; its valid form is what it means.
        parts = [
            p
            for p in shapely.get_parts(shapely.make_valid(geometry))
            if isinstance(p, Polygon | MultiPolygon)
        ]
        geometry = shapely.union_all(parts) if parts else Polygon()
        if not isinstance(geometry, Polygon | MultiPolygon) or geometry.is_empty:
            raise GeometryError(f"{name} is invalid and has no area once repaired", (name,))
    return split_at_antimeridian(geometry)


def _km2(geometry: Polygon | MultiPolygon) -> float:
    dense = shapely.segmentize(geometry, _EDGE_DEGREES)
    projected = shapely.transform(dense, _to_equal_area().transform, interleaved=False)
    return float(shapely.area(projected)) / 1e6


def area_km2(geometry: BaseGeometry) -> float:
    """Area of a (Multi)Polygon, in square kilometres.

    Parameters
    ----------
    geometry : Polygon or MultiPolygon
        In EPSG:4326 (lon, lat degrees). Longitudes may run past ±180 (an unwrapped zone
        crossing the antimeridian): the parts are measured on each side.

    Returns
    -------
    float
        Square kilometres on the WGS84 ellipsoid, measured in EPSG:6933 (equal-area).

    Raises
    ------
    GeometryError
        When ``geometry`` is not polygonal, is empty, or has latitudes beyond ±90.
    """
    return _km2(_polygonal(geometry, "geometry"))


def area_share(area: BaseGeometry, zone: BaseGeometry, *, zone_checked: bool = False) -> float:
    """The share of ``area`` that lies inside ``zone``, from 0 to 1.

    Parameters
    ----------
    area : Polygon or MultiPolygon
        The area to share out (a population group's area), EPSG:4326 lon/lat degrees.
    zone : Polygon or MultiPolygon
        The hazard zone, EPSG:4326 lon/lat degrees.
    zone_checked : bool
        The zone is already a valid zone inside [-180, 180] (from ``parse_geojson``): it is not
        checked again for each area it is compared with.

    Returns
    -------
    float
        Area of the intersection over the area of ``area``, both measured in an equal-area
        projection (EPSG:6933), so that a square degree near the equator does not weigh the same
        as one in the far north. Valid across the antimeridian: parts are measured on each side.

    Raises
    ------
    GeometryError
        When either argument is not polygonal, is empty, or has no area.
    """
    area = _polygonal(area, "area")
    if not zone_checked:
        zone = _polygonal(zone, "zone")
    whole = _km2(area)
    if whole <= 0.0:
        raise GeometryError("area has no area: give a polygon that encloses an area", ("area",))
    if not shapely.intersects(area, zone):
        return 0.0
    inside = shapely.intersection(area, zone)
    polygons = [p for p in shapely.get_parts(inside) if isinstance(p, Polygon | MultiPolygon)]
    if not polygons:
        return 0.0
    share = sum(_km2(p) for p in polygons) / whole
    return max(0.0, min(1.0, share))
