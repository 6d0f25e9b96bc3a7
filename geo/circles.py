"""Geodesic circles: zones given as a centre and a radius in metres (CAP circles, quake radii)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from pyproj import Geod
from shapely.affinity import translate
from shapely.geometry import MultiPolygon, Polygon, box, mapping

from geo.errors import GeometryError

_WGS84 = Geod(ellps="WGS84")
_WORLD = box(-180.0, -90.0, 180.0, 90.0)

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
        Number of vertices on the ring. With the default 72, the straight edges between
        vertices cut inside the true circle by at most 0.1 % of the radius.

    Returns
    -------
    Polygon or MultiPolygon
        In EPSG:4326 (lon, lat), inside [-180, 180]. A circle that crosses the antimeridian is
        split into parts on each side, and a circle around a pole runs up to it, so that
        point-in-polygon tests stay exact.

    Raises
    ------
    GeometryError
        A ``ValueError``: the centre is out of range, the radius is not in
        (0, ``MAX_RADIUS_M``] metres, or ``segments`` is below 8.
    """
    if not -180.0 <= lon <= 180.0:
        raise GeometryError(f"lon={lon} is out of range: give a longitude in [-180, 180]", ("lon",))
    if not -90.0 <= lat <= 90.0:
        raise GeometryError(f"lat={lat} is out of range: give a latitude in [-90, 90]", ("lat",))
    if not 0.0 < radius_m <= MAX_RADIUS_M:
        raise GeometryError(
            f"radius_m={radius_m} must be > 0 and <= {MAX_RADIUS_M:.0f} metres "
            "(a radius in kilometres must be multiplied by 1000)",
            ("radius_m",),
        )
    if segments < 8:
        raise GeometryError(f"segments={segments} is too few: give at least 8", ("segments",))
    azimuths = np.linspace(0.0, 360.0, segments, endpoint=False)
    centre_lon, centre_lat = np.full(segments, float(lon)), np.full(segments, float(lat))
    lons, lats, _ = _WGS84.fwd(centre_lon, centre_lat, azimuths, np.full(segments, float(radius_m)))
    # Unwrap the longitudes step by step so that the ring is continuous across ±180.
    steps = (np.diff(lons) + 180.0) % 360.0 - 180.0
    unwrapped = np.concatenate([[lons[0]], lons[0] + np.cumsum(steps)])
    turn = unwrapped[-1] + ((lons[0] - unwrapped[-1] + 180.0) % 360.0 - 180.0) - lons[0]
    ring = list(zip(unwrapped.tolist(), lats.tolist(), strict=True))
    if abs(turn) > 180.0:
        # The ring goes once round the Earth: the circle holds a pole, and the polygon has to
        # run up to it along the meridians, or it would be the complement of the circle.
        pole = 90.0 if lat > 0 else -90.0
        end = ring[0][0] + turn
        ring += [(end, ring[0][1]), (end, pole), (ring[0][0], pole)]
    return split_at_antimeridian(Polygon(ring))


def split_at_antimeridian(geometry: Polygon | MultiPolygon) -> Polygon | MultiPolygon:
    """Split a (Multi)Polygon whose longitudes run past ±180 into parts inside [-180, 180].

    Parameters
    ----------
    geometry : Polygon or MultiPolygon
        In EPSG:4326 degrees; longitudes may be unwrapped (for example 170 to 190, or -190 to
        -170) but must span less than 360 degrees per polygon.

    Returns
    -------
    Polygon or MultiPolygon
        The same area with every part shifted back into [-180, 180]. A geometry already inside
        that range is returned unchanged.
    """
    minx, _, maxx, _ = geometry.bounds
    if minx >= -180.0 and maxx <= 180.0:
        return geometry
    parts: list[Polygon] = []
    for shift in (-360.0, 0.0, 360.0):
        window = box(-180.0 - shift, -90.0, 180.0 - shift, 90.0)
        piece = geometry.intersection(window)
        if piece.is_empty:
            continue
        moved = translate(piece, xoff=shift).intersection(_WORLD)
        parts += [
            g
            for g in shapely.get_parts(moved)
            if isinstance(g, Polygon) and not g.is_empty and g.area > 0
        ]
    # Pieces cut from one ring may meet again along a meridian (a circle round a pole);
    # a union merges them, where pieces on opposite sides of ±180 stay apart.
    merged = shapely.union_all(parts)
    polygons = [g for g in shapely.get_parts(merged) if isinstance(g, Polygon) and g.area > 0]
    if len(polygons) == 1:
        return polygons[0]
    return MultiPolygon(polygons)


def circle_geojson(lon: float, lat: float, radius_m: float) -> dict[str, Any]:
    """The geodesic circle as a GeoJSON geometry mapping (EPSG:4326, radius in metres)."""
    return dict(mapping(geodesic_circle(lon, lat, radius_m)))


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres on a sphere of radius 6,371,008.8 m (for sanity checks)."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))
