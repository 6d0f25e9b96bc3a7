"""Zones from GeoJSON (RFC 7946): read, checked against the limits, repaired where they can be.

The reader here also reads WKT, which ``geo.wkt`` turns into the same GeoJSON-like mapping.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geo.errors import GeometryError, GeometryLimitExceeded
from geo.geometry import Loc, NoArea, Polygonal, Zone, where
from geo.limits import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_OVERLAPS,
    MAX_RINGS,
    MAX_VERTICES,
    check_limits,
    check_size,
    overlap_estimate,
)
from geo.repair import make_polygon, merge, unwrap, valid_parts

_NOT_AREAS = frozenset({"Point", "MultiPoint", "LineString", "MultiLineString"})
_GEOMETRIES = frozenset({"Polygon", "MultiPolygon", "GeometryCollection"}) | _NOT_AREAS
_CIRCLE_HINT = "for a point with a radius, give a circle: a centre and a radius in metres"


def parse_geojson(
    obj: Mapping[str, Any] | str | bytes,
    *,
    max_vertices: int = MAX_VERTICES,
    max_bytes: int = MAX_BYTES,
    max_overlaps: int = MAX_OVERLAPS,
) -> Zone:
    """Read a zone from GeoJSON (RFC 7946, lon/lat degrees, EPSG:4326).

    Parameters
    ----------
    obj : mapping, str or bytes
        A geometry (Polygon, MultiPolygon, or a GeometryCollection holding some), a Feature, or a
        FeatureCollection, either parsed or as JSON text. The polygonal parts of a collection are
        united; its points and lines are left out, and ``repairs`` says so.
    max_vertices : int
        Most positions accepted, counted over all rings.
    max_bytes : int
        Largest input accepted, in bytes of JSON.
    max_overlaps : int
        Most pairs of edges with overlapping bounding boxes (see ``MAX_OVERLAPS``): the
        measure of how long validation and the operations on the zone take.

    Returns
    -------
    Zone
        The zone and the repairs made to it.

    Raises
    ------
    GeometryError
        With the reason and the location (``loc``) in the input of the first problem: not an
        area (a Point or a LineString), a coordinate that is not a number or out of range, a ring
        of fewer than 4 positions, a polygon with no area once repaired; a
        ``GeometryLimitExceeded`` naming the limit when one is exceeded.

    Notes
    -----
    Open rings are closed and invalid polygons (self-intersections, bowties) repaired with
    ``shapely.make_valid``, keeping their polygonal parts. A ring whose consecutive longitudes
    jump by more than 180 degrees (179 then -179), or that is written with longitudes beyond
    ±180 (170 to 190), crosses the antimeridian: it is split into parts on each side.
    """
    check_limits(max_vertices, max_bytes)
    if isinstance(obj, str | bytes | bytearray):
        size = len(obj.encode("utf-8")) if isinstance(obj, str) else len(obj)
        check_size(size, max_bytes)
        text = obj.lstrip("\ufeff") if isinstance(obj, str) else bytes(obj)
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise GeometryError(f"the geometry is not valid JSON: {exc}", ()) from exc
    if not isinstance(obj, Mapping):
        raise GeometryError(
            "expected a GeoJSON object: a geometry, a Feature or a FeatureCollection", ()
        )
    check_size(_json_size(obj), max_bytes)
    return Reader(max_vertices, max_overlaps).read(obj, top=True)


def to_zone(geometry: BaseGeometry) -> Polygonal:
    """Check a geometry made in code (a circle, a feed's polygon) and return it as a usable zone.

    Parameters
    ----------
    geometry : shapely geometry
        In EPSG:4326 (lon, lat degrees).

    Returns
    -------
    Polygon or MultiPolygon
        The geometry itself when it is already a valid polygonal zone inside [-180, 180];
        otherwise the result of ``parse_geojson`` on it.

    Raises
    ------
    GeometryError
        As ``parse_geojson``.
    """
    if (
        isinstance(geometry, Polygon | MultiPolygon)
        and not geometry.is_empty
        and overlap_estimate(geometry) <= MAX_OVERLAPS
        and shapely.is_valid(geometry)  # the function: the method can hold the GIL throughout
        and geometry.bounds[0] >= -180.0
        and geometry.bounds[2] <= 180.0
    ):
        return geometry
    return parse_geojson(json.loads(shapely.to_geojson(geometry))).geometry


def _json_size(obj: Mapping[str, Any]) -> int:
    try:
        return len(json.dumps(obj, separators=(",", ":"), default=str).encode("utf-8"))
    except (ValueError, TypeError, RecursionError) as exc:
        raise GeometryError(f"the geometry cannot be read as JSON: {exc}", ()) from exc


def _is_list(value: object) -> TypeGuard[Sequence[Any]]:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


_PLAIN = (float, int)


def _plain_positions(raw: Sequence[Any]) -> tuple[list[float], list[float]] | None:
    """Longitudes and latitudes of a ring of plain, finite, in-range [lon, lat] numbers, read in
    one go; None when any position is otherwise, for the position by position reading to say
    which and why."""
    if not all(
        type(p) is list and 2 <= len(p) <= 4 and type(p[0]) in _PLAIN and type(p[1]) in _PLAIN
        for p in raw
    ):
        return None
    try:
        lonlat = np.array([p[:2] for p in raw], dtype=np.float64).reshape(-1, 2)
    except (OverflowError, ValueError):
        return None
    lon, lat = lonlat[:, 0], lonlat[:, 1]
    if not (np.isfinite(lonlat).all() and (np.abs(lat) <= 90).all() and (np.abs(lon) <= 360).all()):
        return None
    return lon.tolist(), lat.tolist()


def _number(value: object, loc: Loc, what: str) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise GeometryError(f"the {what} must be a number of degrees, not {value!r}", loc)
    number = float(value)
    if not math.isfinite(number):
        raise GeometryError(f"the {what} must be a finite number of degrees, not {value!r}", loc)
    return number


def _unknown_type(kind: object, loc: Loc, *, top: bool) -> GeometryError:
    accepted = "Polygon, MultiPolygon, GeometryCollection"
    if top:
        accepted += ", Feature or FeatureCollection"
    return GeometryError(f"unknown GeoJSON type {kind!r}: give a {accepted}", (*loc, "type"))


class Reader:
    """Walks a GeoJSON object, collecting the valid polygons of the zone and the repairs made.

    A collection (FeatureCollection, GeometryCollection, MultiPolygon) keeps its usable members
    and leaves out, with a note, those that are not areas: feeds publish empty severity classes
    as polygons whose positions are all the same point, next to the real ones.
    """

    def __init__(self, max_vertices: int, max_overlaps: int = MAX_OVERLAPS) -> None:
        self.max_vertices = max_vertices
        self.max_overlaps = max_overlaps
        self.vertices = 0
        self.rings = 0
        self.repairs: list[str] = []
        self.left_out: dict[str, int] = {}
        self.first_left_out: NoArea | None = None

    def read(self, obj: object, *, top: bool) -> Zone:
        try:
            return self._finish(self.polygons(obj, (), depth=0, top=top))
        except NoArea as exc:
            raise GeometryError(exc.reason, exc.loc) from None

    def polygons(self, obj: object, loc: Loc, *, depth: int, top: bool) -> list[Polygon]:
        if not isinstance(obj, Mapping):
            raise GeometryError("expected a GeoJSON object with a 'type'", loc)
        kind = obj.get("type")
        if not isinstance(kind, str):
            # Refused first: a list or an object as the type cannot be looked up in a set.
            raise _unknown_type(kind, loc, top=top)
        if top and kind == "Feature":
            geometry = obj.get("geometry")
            if geometry is None:
                raise GeometryError(
                    "the Feature has no geometry: give a Polygon or a MultiPolygon",
                    (*loc, "geometry"),
                )
            return self.polygons(geometry, (*loc, "geometry"), depth=depth, top=False)
        if top and kind == "FeatureCollection":
            return self._features(obj.get("features"), (*loc, "features"), depth)
        if kind == "GeometryCollection":
            if depth >= MAX_DEPTH:
                raise GeometryError(
                    f"GeometryCollections nest deeper than {MAX_DEPTH}: flatten them", loc
                )
            parts = obj.get("geometries")
            if not _is_list(parts):
                raise GeometryError(
                    "a GeometryCollection needs a list of geometries", (*loc, "geometries")
                )
            out: list[Polygon] = []
            for i, part in enumerate(parts):
                out += self._part(part, (*loc, "geometries", i), depth + 1)
            if not out:
                self._raise_left_out()
                raise GeometryError(
                    "the GeometryCollection holds no Polygon or MultiPolygon: a zone must be an "
                    f"area ({_CIRCLE_HINT})",
                    (*loc, "geometries"),
                )
            return out
        coordinates = obj.get("coordinates")
        if kind == "Polygon":
            return self._polygon(coordinates, (*loc, "coordinates"))
        if kind == "MultiPolygon":
            if not _is_list(coordinates) or not coordinates:
                raise GeometryError(
                    "a MultiPolygon needs a non-empty list of polygons, each a list of rings",
                    (*loc, "coordinates"),
                )
            out = []
            for i, rings in enumerate(coordinates):
                if _is_list(rings) and not rings:
                    continue  # an empty part (WKT's EMPTY) adds nothing
                out += self._member(rings, (*loc, "coordinates", i))
            if not out:
                self._raise_left_out()
                raise GeometryError(
                    "every polygon of the MultiPolygon is empty: a zone must be an area",
                    (*loc, "coordinates"),
                )
            return out
        if kind in _NOT_AREAS:
            raise GeometryError(
                f"a {kind} is not an area: a zone must be a Polygon or a MultiPolygon "
                f"({_CIRCLE_HINT})",
                (*loc, "type"),
            )
        raise _unknown_type(kind, loc, top=top)

    def _features(self, features: object, loc: Loc, depth: int) -> list[Polygon]:
        if not _is_list(features) or not features:
            raise GeometryError("a FeatureCollection needs a non-empty list of features", loc)
        out: list[Polygon] = []
        for i, feature in enumerate(features):
            if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
                raise GeometryError("each item of features must be a GeoJSON Feature", (*loc, i))
            geometry = feature.get("geometry")
            if geometry is None:
                self._leave_out("feature without geometry")
                continue
            out += self._part(geometry, (*loc, i, "geometry"), depth + 1)
        if not out:
            self._raise_left_out()
            raise GeometryError(
                f"none of the features is a Polygon or a MultiPolygon: a zone must be an area "
                f"({_CIRCLE_HINT})",
                loc,
            )
        return out

    def _part(self, obj: object, loc: Loc, depth: int) -> list[Polygon]:
        """A member of a collection: its points and lines are left out, not refused."""
        if isinstance(obj, Mapping) and not isinstance(obj.get("type"), str):
            return self.polygons(obj, loc, depth=depth, top=False)  # which says why
        if isinstance(obj, Mapping) and obj.get("type") in _NOT_AREAS:
            self._leave_out(str(obj["type"]))
            return []
        if isinstance(obj, Mapping) and obj.get("type") not in _GEOMETRIES:
            raise GeometryError(f"expected a GeoJSON geometry, not {obj.get('type')!r}", loc)
        if isinstance(obj, Mapping) and obj.get("type") == "Polygon":
            return self._member(obj.get("coordinates"), (*loc, "coordinates"))
        return self.polygons(obj, loc, depth=depth, top=False)

    def _member(self, rings: object, loc: Loc) -> list[Polygon]:
        """A polygon of a collection, left out when it encloses no area."""
        try:
            return self._polygon(rings, loc)
        except NoArea as exc:
            self._leave_out("polygon without area")
            self.first_left_out = self.first_left_out or exc
            return []

    def _leave_out(self, kind: str) -> None:
        self.left_out[kind] = self.left_out.get(kind, 0) + 1

    def _raise_left_out(self) -> None:
        """Refuse a collection with nothing left, for the first reason a member was left out."""
        if self.first_left_out is not None:
            raise GeometryError(self.first_left_out.reason, self.first_left_out.loc)

    def _polygon(self, rings: object, loc: Loc) -> list[Polygon]:
        if not _is_list(rings) or not rings:
            raise GeometryError(
                "a Polygon needs a list of rings: the outer ring first, then any holes", loc
            )
        shell = self._ring(rings[0], (*loc, 0))
        holes = []
        for i, raw in enumerate(rings[1:], start=1):
            try:
                holes.append(self._ring(raw, (*loc, i)))
            except NoArea:
                self.repairs.append(f"left out the hole at {where((*loc, i))}: it has no area")
        polygon = make_polygon(shell, holes)
        return valid_parts(polygon, loc, self.repairs, max_overlaps=self.max_overlaps)

    def _ring(self, raw: object, loc: Loc) -> list[tuple[float, float]]:
        if not _is_list(raw):
            raise GeometryError("a ring must be a list of [lon, lat] positions", loc)
        self.rings += 1
        if self.rings > MAX_RINGS:
            raise GeometryLimitExceeded(
                f"the zone has more than {MAX_RINGS} rings (polygons and holes), the limit "
                "(max_rings): leave out the smallest, or merge them",
                loc,
                limit="max_rings",
                allowed=MAX_RINGS,
            )
        self.vertices += len(raw)
        if self.vertices > self.max_vertices:
            raise GeometryLimitExceeded(
                f"the zone has more than {self.max_vertices} vertices, the limit "
                "(max_vertices): simplify it, for example to a tolerance of a few hundred metres",
                loc,
                limit="max_vertices",
                allowed=self.max_vertices,
            )
        plain = _plain_positions(raw)
        xs: list[float] = []
        ys: list[float] = []
        if plain is not None:
            xs, ys = plain
        for i, position in enumerate(raw if plain is None else ()):
            if not _is_list(position) or len(position) < 2:
                raise GeometryError("a position must be [lon, lat]: two numbers", (*loc, i))
            lon = _number(position[0], (*loc, i, 0), "longitude")
            lat = _number(position[1], (*loc, i, 1), "latitude")
            if not -90.0 <= lat <= 90.0:
                raise GeometryError(
                    f"latitude {lat} is out of range [-90, 90]: positions are [lon, lat], "
                    "longitude first",
                    (*loc, i, 1),
                )
            if not -360.0 <= lon <= 360.0:
                raise GeometryError(
                    f"longitude {lon} is out of range: give longitudes in [-180, 180]",
                    (*loc, i, 0),
                )
            xs.append(lon)
            ys.append(lat)
        if xs and (xs[0], ys[0]) != (xs[-1], ys[-1]):
            xs.append(xs[0])
            ys.append(ys[0])
            self.repairs.append(f"closed the open ring at {where(loc)}")
        if len(xs) < 4:
            raise GeometryError(
                f"a ring needs at least 4 positions (3 corners, then the first again), "
                f"not {len(xs)}",
                loc,
            )
        if len(set(zip(xs, ys, strict=True))) < 3:
            raise NoArea("a ring needs at least 3 distinct corners to enclose an area", loc)
        xs = unwrap(xs, loc, self.repairs)
        return list(zip(xs, ys, strict=True))

    def _finish(self, polygons: list[Polygon]) -> Zone:
        if self.left_out:
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.left_out.items()))
            self.repairs.append(f"left out what is not an area: {kinds}")
        return merge(polygons, self.repairs, max_overlaps=self.max_overlaps)
