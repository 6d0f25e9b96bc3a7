"""Zone geometries from user input (GeoJSON, WKT): checked, repaired, split at the antimeridian."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import shapely
from shapely import wkt as shapely_wkt
from shapely.errors import ShapelyError
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.base import BaseGeometry

from geo.circles import split_at_antimeridian
from geo.errors import GeometryError

MAX_VERTICES = 100_000
MAX_BYTES = 5_000_000

Zone: TypeAlias = Polygon | MultiPolygon


@dataclass(frozen=True, slots=True)
class ParsedGeometry:
    """A usable zone: a valid (Multi)Polygon in EPSG:4326 (lon, lat), inside [-180, 180].

    ``repairs`` says what was changed on the way (rings closed, self-intersections resolved,
    split at the antimeridian), so a user can check the zone is what they meant.
    """

    geometry: Zone
    repairs: list[str] = field(default_factory=list)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        minx, miny, maxx, maxy = self.geometry.bounds
        return (minx, miny, maxx, maxy)

    def to_geojson(self) -> dict[str, Any]:
        return dict(mapping(self.geometry))


def parse_geojson(
    obj: Mapping[str, Any] | str | bytes,
    *,
    max_vertices: int = MAX_VERTICES,
    max_bytes: int = MAX_BYTES,
) -> ParsedGeometry:
    """A zone from a GeoJSON geometry, Feature or FeatureCollection (RFC 7946, lon/lat).

    Polygonal geometries only: a point or a line is not a zone (give a circle for a point with a
    radius). A FeatureCollection's polygonal features are united.

    Raises
    ------
    GeometryError
        With the reason and the location in the input of the first problem.
    """
    if isinstance(obj, str | bytes):
        if len(obj) > max_bytes:
            raise GeometryError(f"the geometry is larger than {max_bytes} bytes; simplify it", ())
        try:
            obj = json.loads(obj)
        except ValueError as exc:
            raise GeometryError(f"not valid JSON: {exc}", ()) from exc
    if not isinstance(obj, Mapping):
        raise GeometryError("expected a GeoJSON object", ())
    if len(json.dumps(obj)) > max_bytes:
        raise GeometryError(f"the geometry is larger than {max_bytes} bytes; simplify it", ())
    repairs: list[str] = []
    polygons = _polygons_of(obj, (), repairs)
    return _finish(polygons, repairs, max_vertices)


def parse_wkt(
    text: str, *, max_vertices: int = MAX_VERTICES, max_bytes: int = MAX_BYTES
) -> ParsedGeometry:
    """A zone from WKT (lon lat order), with the same checks as ``parse_geojson``."""
    if len(text) > max_bytes:
        raise GeometryError(f"the geometry is larger than {max_bytes} bytes; simplify it", ())
    try:
        geom = shapely_wkt.loads(text)
    except (ShapelyError, ValueError) as exc:
        raise GeometryError(f"not valid WKT: {exc}", ()) from exc
    return parse_geojson(dict(mapping(geom)), max_vertices=max_vertices, max_bytes=max_bytes)


def _polygons_of(
    obj: Mapping[str, Any], loc: tuple[str | int, ...], repairs: list[str]
) -> list[Polygon]:
    kind = obj.get("type")
    if kind == "Feature":
        geometry = obj.get("geometry")
        if not isinstance(geometry, Mapping):
            raise GeometryError("the Feature has no geometry", (*loc, "geometry"))
        return _polygons_of(geometry, (*loc, "geometry"), repairs)
    if kind == "FeatureCollection":
        features = obj.get("features")
        if not _is_list(features) or not features:
            raise GeometryError("the FeatureCollection has no features", (*loc, "features"))
        out: list[Polygon] = []
        for i, feature in enumerate(features):
            if not isinstance(feature, Mapping):
                raise GeometryError("a feature must be an object", (*loc, "features", i))
            geometry = feature.get("geometry")
            if isinstance(geometry, Mapping) and geometry.get("type") in {
                "Polygon",
                "MultiPolygon",
                "GeometryCollection",
            }:
                out += _polygons_of(geometry, (*loc, "features", i, "geometry"), repairs)
        if not out:
            raise GeometryError(
                "no polygon among the features: a zone must be an area", (*loc, "features")
            )
        return out
    if kind == "GeometryCollection":
        parts = obj.get("geometries")
        if not isinstance(parts, Sequence) or isinstance(parts, str | bytes):
            raise GeometryError("geometries must be a list", (*loc, "geometries"))
        out = []
        for i, part in enumerate(parts):
            if isinstance(part, Mapping) and part.get("type") in {"Polygon", "MultiPolygon"}:
                out += _polygons_of(part, (*loc, "geometries", i), repairs)
        if not out:
            raise GeometryError(
                "no polygon in the collection: a zone must be an area", (*loc, "geometries")
            )
        return out
    coordinates = obj.get("coordinates")
    if kind == "Polygon":
        return _polygon(coordinates, (*loc, "coordinates"), repairs)
    if kind == "MultiPolygon":
        if not _is_list(coordinates) or not coordinates:
            raise GeometryError("a MultiPolygon needs a list of polygons", (*loc, "coordinates"))
        out = []
        for i, rings in enumerate(coordinates):
            out += _polygon(rings, (*loc, "coordinates", i), repairs)
        return out
    if kind in {"Point", "MultiPoint", "LineString", "MultiLineString"}:
        raise GeometryError(
            f"a {kind} is not an area: give a Polygon, or a circle (centre and radius in metres)",
            (*loc, "type"),
        )
    raise GeometryError(f"unknown geometry type {kind!r}", (*loc, "type"))


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _ring(raw: Any, loc: tuple[str | int, ...], repairs: list[str]) -> list[tuple[float, float]]:
    if not _is_list(raw):
        raise GeometryError("a ring must be a list of [lon, lat] positions", loc)
    ring: list[tuple[float, float]] = []
    for i, position in enumerate(raw):
        if not isinstance(position, Sequence) or isinstance(position, str) or len(position) < 2:
            raise GeometryError("a position must be [lon, lat]", (*loc, i))
        lon, lat = position[0], position[1]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat)):
            raise GeometryError("coordinates must be numbers", (*loc, i))
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise GeometryError("coordinates must be finite numbers", (*loc, i))
        if not -90.0 <= lat <= 90.0:
            raise GeometryError(
                f"latitude {lat} is out of range [-90, 90] (is the order lon, lat?)", (*loc, i, 1)
            )
        if not -540.0 <= lon <= 540.0:
            raise GeometryError(f"longitude {lon} is out of range [-180, 180]", (*loc, i, 0))
        ring.append((float(lon), float(lat)))
    if len(ring) >= 2 and ring[0] != ring[-1]:
        ring.append(ring[0])
        repairs.append(f"closed an open ring at {'/'.join(map(str, loc))}")
    if len(ring) < 4:
        raise GeometryError(
            "a ring needs at least 4 positions (3 distinct, the first repeated last)", loc
        )
    return _unwrap(ring, loc, repairs)


def _unwrap(
    ring: list[tuple[float, float]], loc: tuple[str | int, ...], repairs: list[str]
) -> list[tuple[float, float]]:
    """Make longitudes continuous: a jump of more than 180° between neighbours crosses ±180."""
    out = [ring[0]]
    crossed = False
    for lon, lat in ring[1:]:
        prev = out[-1][0]
        while lon - prev > 180.0:
            lon -= 360.0
            crossed = True
        while prev - lon > 180.0:
            lon += 360.0
            crossed = True
        out.append((lon, lat))
    if crossed:
        repairs.append(f"ring at {'/'.join(map(str, loc))} crosses the antimeridian")
    return out


def _polygon(rings: Any, loc: tuple[str | int, ...], repairs: list[str]) -> list[Polygon]:
    if not _is_list(rings) or not rings:
        raise GeometryError("a Polygon needs at least one ring", loc)
    shell = _ring(rings[0], (*loc, 0), repairs)
    holes = [_ring(r, (*loc, i), repairs) for i, r in enumerate(rings[1:], start=1)]
    # Bring holes to the shell's side of the antimeridian.
    centre = sum(p[0] for p in shell) / len(shell)
    holes = [[(x + 360.0 * round((centre - x) / 360.0), y) for x, y in h] for h in holes]
    polygon = Polygon(shell, holes)
    if not polygon.is_valid:
        reason = shapely.is_valid_reason(polygon)
        fixed = shapely.make_valid(polygon)
        parts = [
            g for g in getattr(fixed, "geoms", [fixed]) if isinstance(g, Polygon | MultiPolygon)
        ]
        polygons = [
            p
            for g in parts
            for p in getattr(g, "geoms", [g])
            if isinstance(p, Polygon) and p.area > 0
        ]
        if not polygons:
            raise GeometryError(
                f"the polygon is invalid ({reason}) and nothing of it could be kept", loc
            )
        repairs.append(f"repaired an invalid polygon at {'/'.join(map(str, loc))} ({reason})")
    else:
        polygons = [polygon]
    out: list[Polygon] = []
    for p in polygons:
        split = split_at_antimeridian(p)
        out += list(split.geoms) if isinstance(split, MultiPolygon) else [split]
    return out


def _finish(polygons: list[Polygon], repairs: list[str], max_vertices: int) -> ParsedGeometry:
    vertices = sum(
        len(p.exterior.coords) + sum(len(i.coords) for i in p.interiors) for p in polygons
    )
    if vertices > max_vertices:
        raise GeometryError(
            f"the zone has {vertices} vertices, more than {max_vertices}; simplify it", ()
        )
    merged: BaseGeometry = shapely.union_all(polygons) if len(polygons) > 1 else polygons[0]
    if not merged.is_valid:
        merged = shapely.make_valid(merged)
    parts = [
        p for p in getattr(merged, "geoms", [merged]) if isinstance(p, Polygon) and not p.is_empty
    ]
    if not parts or sum(p.area for p in parts) == 0:
        raise GeometryError("the zone has no area", ())
    zone: Zone = parts[0] if len(parts) == 1 else MultiPolygon(parts)
    return ParsedGeometry(zone, repairs)


def to_zone(geometry: BaseGeometry) -> Zone:
    """Check a geometry made in code (circles, feed polygons) is a usable zone."""
    if isinstance(geometry, Polygon | MultiPolygon) and geometry.is_valid and not geometry.is_empty:
        return geometry
    return parse_geojson(dict(mapping(geometry))).geometry
