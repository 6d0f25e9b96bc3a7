"""CAP area geometry: ``polygon`` and ``circle`` strings (latitude first) to lon/lat shapes."""

from __future__ import annotations

from shapely.geometry import MultiPolygon, Polygon

from geo.circles import geodesic_circle
from geo.errors import GeometryError
from geo.geojson import parse_geojson
from geo.geometry import Polygonal

#: A circle of radius 0 (an epicentre) still needs an area to match anyone: 1 km.
MIN_CIRCLE_M = 1_000.0


def _pairs(text: str, what: str) -> list[tuple[float, float]]:
    points = []
    for i, token in enumerate(text.replace(", ", " ").split()):
        try:
            lat_s, lon_s = token.split(",")
            lat, lon = float(lat_s), float(lon_s)
        except ValueError as exc:
            raise GeometryError(f"{what}: {token!r} is not a 'lat,lon' pair", (i,)) from exc
        if not -90 <= lat <= 90 or not -180 <= lon <= 180:
            raise GeometryError(f"{what}: {token!r} is out of range (CAP pairs are lat,lon)", (i,))
        points.append((lon, lat))
    return points


def parse_cap_polygon(text: str) -> Polygonal:
    """A CAP ``polygon`` ("lat,lon lat,lon ...", first = last) as a valid lon/lat (Multi)Polygon.

    Real senders glue several rings into one string with ", " between them, leave rings open, or
    send fewer than four pairs: rings are split where a pair closes the ring, closed when open,
    and repaired; a ring of fewer than three distinct points is refused.
    """
    points = _pairs(text, "polygon")
    rings: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for point in points:
        current.append(point)
        if len(current) >= 4 and point == current[0]:
            rings.append(current)
            current = []
    if current:
        rings.append(current)
    polygons = []
    for ring in rings:
        if len({p for p in ring}) < 3:
            continue
        if ring[0] != ring[-1]:
            ring = [*ring, ring[0]]
        polygons.append([list(p) for p in ring])
    if not polygons:
        raise GeometryError("polygon: fewer than three distinct points", ())
    geojson = (
        {"type": "Polygon", "coordinates": [polygons[0]]}
        if len(polygons) == 1
        else {"type": "MultiPolygon", "coordinates": [[r] for r in polygons]}
    )
    return parse_geojson(geojson).geometry


def parse_cap_circle(text: str) -> Polygon | MultiPolygon:
    """A CAP ``circle`` ("lat,lon radius_km") as a geodesic circle (radius 0 → ``MIN_CIRCLE_M``)."""
    try:
        centre, radius_s = text.split()
        lat_s, lon_s = centre.split(",")
        lat, lon, radius_km = float(lat_s), float(lon_s), float(radius_s)
    except ValueError as exc:
        raise GeometryError(f"circle: {text!r} is not 'lat,lon radius_km'", ()) from exc
    if radius_km < 0:
        raise GeometryError("circle: the radius is negative", ())
    return geodesic_circle(lon, lat, max(radius_km * 1000.0, MIN_CIRCLE_M))
