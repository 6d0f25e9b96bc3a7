"""Geodesic circles: zones given as a centre and a radius in metres (CAP circles, quake radii)."""

from __future__ import annotations

import math
from typing import Any

from pyproj import Geod
from shapely.affinity import translate
from shapely.geometry import MultiPolygon, Polygon, mapping

_WGS84 = Geod(ellps="WGS84")

#: Largest radius accepted, in metres. A circle wider than a quarter of the Earth's
#: circumference is not a hazard zone but a typo.
MAX_RADIUS_M = 10_000_000.0


def geodesic_circle(
    lon: float, lat: float, radius_m: float, segments: int = 72
) -> Polygon | MultiPolygon:
    """Return the circle of ``radius_m`` metres around (``lon``, ``lat``) on the WGS84 ellipsoid.

    Parameters
    ----------
    lon, lat : float
        Centre in degrees, EPSG:4326.
    radius_m : float
        Radius in metres (geodesic distance on the ellipsoid), never degrees.
    segments : int
        Number of vertices on the ring.

    Returns
    -------
    Polygon or MultiPolygon
        In EPSG:4326 (lon, lat). A circle that crosses the antimeridian is split into two
        polygons, one on each side, so that point-in-polygon tests stay exact.
    """
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"lon={lon} is out of range: give a longitude in [-180, 180]")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"lat={lat} is out of range: give a latitude in [-90, 90]")
    if not 0.0 < radius_m <= MAX_RADIUS_M:
        raise ValueError(f"radius_m={radius_m} must be > 0 and <= {MAX_RADIUS_M:.0f} metres")
    if segments < 8:
        raise ValueError("segments must be at least 8")
    azimuths = [360.0 * i / segments for i in range(segments)]
    lons, lats, _ = _WGS84.fwd([lon] * segments, [lat] * segments, azimuths, [radius_m] * segments)
    # Unwrap longitudes relative to the centre so the ring is continuous, then split at ±180.
    ring: list[tuple[float, float]] = []
    for x, y in zip(lons, lats, strict=True):
        dx = (x - lon + 540.0) % 360.0 - 180.0
        ring.append((lon + dx, y))
    ring.append(ring[0])
    poly = Polygon(ring)
    return split_at_antimeridian(poly)


def split_at_antimeridian(poly: Polygon) -> Polygon | MultiPolygon:
    """Split a polygon whose longitudes run past ±180 into parts inside [-180, 180].

    The input's longitudes may be unwrapped (for example 170 to 190); each part is shifted back.
    """
    minx, _, maxx, _ = poly.bounds
    if minx >= -180.0 and maxx <= 180.0:
        return poly
    world = Polygon([(-180, -90), (180, -90), (180, 90), (-180, 90)])
    parts: list[Polygon] = []
    for shift in (-360.0, 0.0, 360.0):
        window = Polygon(
            [
                (-180 - shift, -90),
                (180 - shift, -90),
                (180 - shift, 90),
                (-180 - shift, 90),
            ]
        )
        piece = poly.intersection(window)
        if piece.is_empty:
            continue
        moved = translate(piece, xoff=shift).intersection(world)
        for g in getattr(moved, "geoms", [moved]):
            if isinstance(g, Polygon) and not g.is_empty and g.area > 0:
                parts.append(g)
    if len(parts) == 1:
        return parts[0]
    return MultiPolygon(parts)


def circle_geojson(lon: float, lat: float, radius_m: float) -> dict[str, Any]:
    """The geodesic circle as a GeoJSON geometry mapping."""
    return dict(mapping(geodesic_circle(lon, lat, radius_m)))


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres on a sphere of radius 6,371,008.8 m (for sanity checks)."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))
