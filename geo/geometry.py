"""Zone geometries from user input (GeoJSON, WKT): checked, repaired, split at the antimeridian."""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeGuard

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geo.circles import split_at_antimeridian
from geo.errors import GeometryError, GeometryLimitExceeded

#: Default limits of ``parse_geojson`` and ``parse_wkt``: a hazard zone drawn or published by a
#: warning centre has a few thousand vertices; far more is a mistake or an attack.
MAX_VERTICES = 100_000
MAX_BYTES = 5_000_000
#: Most rings (outer rings and holes, over all polygons). Each costs about 0.1 ms to read and
#: check, whatever its size: 10,000 small squares take about a second (``bench/worst_zone.py``).
#: The Natural Earth outlines of Canada or Indonesia have a few hundred.
MAX_RINGS = 10_000
#: GeometryCollections may nest; deeper than this is not a zone anyone drew.
MAX_DEPTH = 8
#: Most self-crossings of a polygon that is repaired rather than refused. Real zones cross
#: themselves a few times at most, and repair time grows faster than the square of the
#: crossings: a scribble of a few thousand vertices would take minutes and gigabytes.
MAX_CROSSINGS = 1_000
#: Most pairs of edges whose bounding boxes overlap. Validation, repair, union, equality and
#: intersection in GEOS compare every such pair (about 22 ns a pair for validation, 60 for a
#: union or an equality, on the machine of ``bench/worst_zone.py``), so this, not the number
#: of vertices, is what bounds their time: a real zone has about one such pair per vertex (a
#: country outline 1.1, a GDACS cyclone buffer 1 to 180), a star of spikes around one centre
#: n²/9. A million pairs is a star of about 3,000 vertices, validated in about 25 ms; spiky
#: zones also cost the most to count people in (see ``geo/exposure.py``).
MAX_OVERLAPS = 1_000_000

Zone: TypeAlias = Polygon | MultiPolygon
Loc: TypeAlias = tuple[str | int, ...]

_NOT_AREAS = frozenset({"Point", "MultiPoint", "LineString", "MultiLineString"})
_GEOMETRIES = frozenset({"Polygon", "MultiPolygon", "GeometryCollection"}) | _NOT_AREAS
_CIRCLE_HINT = "for a point with a radius, give a circle: a centre and a radius in metres"


@dataclass(frozen=True, slots=True)
class ParsedGeometry:
    """A usable zone: a valid (Multi)Polygon in EPSG:4326 (lon, lat degrees), inside [-180, 180].

    Attributes
    ----------
    geometry : Polygon or MultiPolygon
        Valid, non-empty, polygonal. A zone crossing the antimeridian is split into parts on each
        side of ±180, so that point-in-polygon tests on plain longitudes stay exact.
    repairs : list of str
        What was changed on the way (rings closed, self-intersections resolved, split at the
        antimeridian, non-polygonal parts left out), for the user to check the zone is the one
        they meant. Empty when the input was used as it was.
    """

    geometry: Zone
    repairs: list[str] = field(default_factory=list)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(min_lon, min_lat, max_lon, max_lat)`` in degrees, EPSG:4326."""
        minx, miny, maxx, maxy = self.geometry.bounds
        return (float(minx), float(miny), float(maxx), float(maxy))

    def to_geojson(self) -> dict[str, Any]:
        """The zone as an RFC 7946 GeoJSON geometry (lon, lat; outer rings counter-clockwise)."""
        oriented = shapely.orient_polygons(self.geometry, exterior_cw=False)
        out: dict[str, Any] = json.loads(shapely.to_geojson(oriented))
        return out


def parse_geojson(
    obj: Mapping[str, Any] | str | bytes,
    *,
    max_vertices: int = MAX_VERTICES,
    max_bytes: int = MAX_BYTES,
    max_overlaps: int = MAX_OVERLAPS,
) -> ParsedGeometry:
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
    ParsedGeometry
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
    _check_limits(max_vertices, max_bytes)
    if isinstance(obj, str | bytes | bytearray):
        size = len(obj.encode("utf-8")) if isinstance(obj, str) else len(obj)
        _check_size(size, max_bytes)
        text = obj.lstrip("\ufeff") if isinstance(obj, str) else bytes(obj)
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise GeometryError(f"the geometry is not valid JSON: {exc}", ()) from exc
    if not isinstance(obj, Mapping):
        raise GeometryError(
            "expected a GeoJSON object: a geometry, a Feature or a FeatureCollection", ()
        )
    _check_size(_json_size(obj), max_bytes)
    return _Reader(max_vertices, max_overlaps).read(obj, top=True)


def parse_wkt(
    text: str | bytes,
    *,
    max_vertices: int = MAX_VERTICES,
    max_bytes: int = MAX_BYTES,
    max_overlaps: int = MAX_OVERLAPS,
) -> ParsedGeometry:
    """Read a zone from WKT or EWKT (lon lat order, EPSG:4326), with the rules of ``parse_geojson``.

    Parameters
    ----------
    text : str or bytes
        For example ``POLYGON ((100 0, 101 0, 101 1, 100 1, 100 0))``, optionally prefixed with
        ``SRID=4326;``. Z and M values are read and dropped.
    max_vertices, max_bytes, max_overlaps : int
        As for ``parse_geojson``.

    Returns
    -------
    ParsedGeometry

    Raises
    ------
    GeometryError
        A syntax error is located as ``("char", offset)``; a problem in the coordinates as in
        GeoJSON, for example ``("coordinates", 0, 3, 1)`` (polygon rings, then positions).
    """
    _check_limits(max_vertices, max_bytes)
    if isinstance(text, bytes | bytearray):
        _check_size(len(text), max_bytes)
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GeometryError(f"the WKT is not UTF-8 text: {exc}", ()) from exc
    if not isinstance(text, str):
        raise GeometryError(f"expected WKT text, not {type(text).__name__}", ())
    _check_size(len(text.encode("utf-8")), max_bytes)
    obj = _WktReader(text).read()
    return _Reader(max_vertices, max_overlaps).read(obj, top=False)


def to_zone(geometry: BaseGeometry) -> Zone:
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
        and geometry.is_valid
        and geometry.bounds[0] >= -180.0
        and geometry.bounds[2] <= 180.0
    ):
        return geometry
    return parse_geojson(json.loads(shapely.to_geojson(geometry))).geometry


def _check_limits(max_vertices: int, max_bytes: int) -> None:
    if max_vertices < 4:
        raise ValueError(f"max_vertices={max_vertices} is too small: give at least 4")
    if max_bytes < 1:
        raise ValueError(f"max_bytes={max_bytes} must be positive")


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise GeometryLimitExceeded(
            f"the geometry is {size} bytes, more than the limit of {max_bytes} bytes "
            "(max_bytes): simplify it, for example to a tolerance of a few hundred metres",
            (),
            limit="max_bytes",
            allowed=max_bytes,
        )


def _edges(geometry: BaseGeometry) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The start and the end of every edge of every ring of ``geometry`` (two n×2 arrays)."""
    rings: list[BaseGeometry] = []
    todo = list(shapely.get_parts(geometry))
    while todo:
        part = todo.pop()
        if isinstance(part, Polygon):
            rings += [part.exterior, *part.interiors]
        elif isinstance(part, MultiPolygon | shapely.GeometryCollection):
            todo += list(shapely.get_parts(part))
        elif not part.is_empty:
            rings.append(part)
    if not rings:
        empty = np.empty((0, 2))
        return empty, empty
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[:-1] == ring[1:]
    return coords[:-1][same], coords[1:][same]


def overlap_estimate(geometry: BaseGeometry) -> int:
    """An upper bound of the pairs of edges of ``geometry`` whose bounding boxes overlap.

    Two boxes overlap only if their spans overlap on both axes, so the fewer of the pairs
    whose x spans overlap and of those whose y spans overlap bounds them; each count is exact
    and takes two sorts. Close for real zones (a country outline: 10 to 25 times the exact
    count, which is about its number of vertices); for a star, under twice the count.
    """
    start, end = _edges(geometry)
    if len(start) < 2:
        return 0
    counts = []
    for axis in (0, 1):
        lo = np.minimum(start[:, axis], end[:, axis])
        hi = np.maximum(start[:, axis], end[:, axis])
        # For each edge, the edges starting at or before its end, less those ending before its
        # start, less itself: every overlapping pair is counted from both of its edges.
        each = np.searchsorted(np.sort(lo), hi, side="right") - np.searchsorted(
            np.sort(hi), lo, side="left"
        )
        counts.append((int(each.sum()) - len(lo)) // 2)
    return min(counts)


def overlapping_pairs(geometry: BaseGeometry, limit: int) -> int:
    """The pairs of edges of ``geometry`` whose bounding boxes overlap, counted exactly, but
    no further than just past ``limit`` (the count stops there, so its time is bounded)."""
    start, end = _edges(geometry)
    boxes = shapely.box(
        np.minimum(start[:, 0], end[:, 0]),
        np.minimum(start[:, 1], end[:, 1]),
        np.maximum(start[:, 0], end[:, 0]),
        np.maximum(start[:, 1], end[:, 1]),
    )
    tree = shapely.STRtree(boxes)
    found, done, batch = 0, 0, 256
    while done < len(boxes):
        chunk = boxes[done : done + batch]
        found += tree.query(chunk).shape[1] - len(chunk)  # each box overlaps itself
        done += len(chunk)
        if found > 2 * limit:  # each pair is found from both of its edges
            break
        batch = min(2 * batch, 8192)
    return found // 2


def check_complexity(
    geometry: BaseGeometry, *, max_overlaps: int = MAX_OVERLAPS, loc: Loc = ()
) -> None:
    """Refuse a geometry whose edges overlap in more than ``max_overlaps`` pairs.

    Linear-ish: the estimate of ``overlap_estimate`` decides for almost every zone; only when
    it is over the limit are the pairs counted exactly, up to the limit.

    Raises
    ------
    GeometryLimitExceeded
        With ``limit="max_overlaps"``.
    """
    vertices = int(shapely.get_num_coordinates(geometry))
    if vertices * (vertices - 1) // 2 <= max_overlaps:
        return  # too few edges to have that many pairs: nothing to count
    if overlap_estimate(geometry) <= max_overlaps:
        return
    if overlapping_pairs(geometry, max_overlaps) <= max_overlaps:
        return
    raise GeometryLimitExceeded(
        f"the zone is too complex: more than {max_overlaps} pairs of its edges overlap "
        "(max_overlaps), as in a star of thousands of spikes around one point; give its "
        "outline, or simplify it, for example to a tolerance of a few hundred metres",
        loc,
        limit="max_overlaps",
        allowed=max_overlaps,
    )


def _json_size(obj: Mapping[str, Any]) -> int:
    try:
        return len(json.dumps(obj, separators=(",", ":"), default=str).encode("utf-8"))
    except (ValueError, TypeError, RecursionError) as exc:
        raise GeometryError(f"the geometry cannot be read as JSON: {exc}", ()) from exc


def _where(loc: Loc) -> str:
    return "/".join(map(str, loc)) or "the top level"


def _is_list(value: object) -> TypeGuard[Sequence[Any]]:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


def _polygons_in(geometry: BaseGeometry) -> list[Polygon]:
    """The non-empty polygons of any geometry, collections flattened."""
    out: list[Polygon] = []
    for part in shapely.get_parts(geometry):
        if isinstance(part, Polygon):
            if not part.is_empty and part.area > 0:
                out.append(part)
        elif isinstance(part, MultiPolygon | shapely.GeometryCollection):
            out += _polygons_in(part)
    return out


def _crossings_exceed(polygon: Polygon, limit: int) -> bool:
    """Whether the edges of ``polygon`` cross each other more than ``limit`` times."""
    rings = [polygon.exterior, *polygon.interiors]
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[:-1] == ring[1:]
    segments = shapely.linestrings(np.stack([coords[:-1][same], coords[1:][same]], axis=1))
    tree = shapely.STRtree(segments)
    crossings, start, batch = 0, 0, 16
    while start < len(segments):
        # Small batches first, so that a scribble is caught after a few segments; larger ones
        # then, so that a long ring with one bowtie is not slowed by many small queries.
        found, _ = tree.query(segments[start : start + batch], predicate="crosses")
        crossings += len(found)
        if crossings > 2 * limit:  # each crossing is found from both of its segments
            return True
        start, batch = start + batch, min(2 * batch, 4096)
    return False


def _members_overlap(polygons: list[Polygon]) -> bool:
    """Whether valid polygons meet otherwise than at points (which a MultiPolygon allows)."""
    tree = shapely.STRtree(polygons)
    left, right = tree.query(polygons, predicate="intersects")
    pairs = left < right
    if not pairs.any():
        return False
    items = np.asarray(polygons, dtype=object)
    matrices = shapely.relate(items[left[pairs]], items[right[pairs]])
    # Interiors meet (first cell), or boundaries share a line (fifth cell is 1).
    return any(m[0] != "F" or m[4] == "1" for m in matrices)


_PLAIN = (float, int)


def _make_polygon(
    shell: list[tuple[float, float]], holes: list[list[tuple[float, float]]]
) -> Polygon:
    """``Polygon(shell, holes)``, its rings made in one call (thousands of holes take long
    one by one)."""
    rings = [shell, *holes]
    sizes = [len(r) for r in rings]
    coords = np.array([p for r in rings for p in r], dtype=np.float64).reshape(-1, 2)
    made = shapely.linearrings(coords, indices=np.repeat(np.arange(len(rings)), sizes))
    polygon: Polygon = shapely.polygons(made[0], holes=made[1:] if len(made) > 1 else None)
    return polygon


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


class _NoArea(GeometryError):
    """A polygon or ring that encloses no area: refused alone, left out of a collection."""


class _Reader:
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
        self.first_left_out: _NoArea | None = None

    def read(self, obj: object, *, top: bool) -> ParsedGeometry:
        try:
            return self.finish(self.polygons(obj, (), depth=0, top=top))
        except _NoArea as exc:
            raise GeometryError(exc.reason, exc.loc) from None

    def polygons(self, obj: object, loc: Loc, *, depth: int, top: bool) -> list[Polygon]:
        if not isinstance(obj, Mapping):
            raise GeometryError("expected a GeoJSON object with a 'type'", loc)
        kind = obj.get("type")
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
        accepted = "Polygon, MultiPolygon, GeometryCollection"
        if top:
            accepted += ", Feature or FeatureCollection"
        raise GeometryError(f"unknown GeoJSON type {kind!r}: give a {accepted}", (*loc, "type"))

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
        except _NoArea as exc:
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
            except _NoArea:
                self.repairs.append(f"left out the hole at {_where((*loc, i))}: it has no area")
        if holes:
            # A hole written on the other side of ±180 from its shell is moved to the shell's.
            middle = (min(x for x, _ in shell) + max(x for x, _ in shell)) / 2
            for k, hole in enumerate(holes):
                hole_middle = (min(x for x, _ in hole) + max(x for x, _ in hole)) / 2
                shift = 360.0 * round((middle - hole_middle) / 360.0)
                if shift:
                    holes[k] = [(x + shift, y) for x, y in hole]
        polygon = _make_polygon(shell, holes)
        # Before the validity check, whose time grows with the square of the edges of a spiky
        # shape: a cheap bound of that time decides whether it runs at all.
        check_complexity(polygon, max_overlaps=self.max_overlaps, loc=loc)
        if polygon.is_valid:
            polygons = [polygon]
        else:
            reason = shapely.is_valid_reason(polygon)
            if _crossings_exceed(polygon, MAX_CROSSINGS):
                raise GeometryError(
                    f"the polygon crosses itself more than {MAX_CROSSINGS} times and cannot be "
                    "repaired: check the order of its positions",
                    loc,
                )
            polygons = _polygons_in(shapely.make_valid(polygon))
            if not polygons:
                raise _NoArea(
                    f"the polygon is invalid ({reason}) and has no area once repaired: check "
                    "the order of its positions",
                    loc,
                )
            self.repairs.append(f"repaired the invalid polygon at {_where(loc)} ({reason})")
        out: list[Polygon] = []
        for p in polygons:
            out += _polygons_in(split_at_antimeridian(p))
        return out

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
            self.repairs.append(f"closed the open ring at {_where(loc)}")
        if len(xs) < 4:
            raise GeometryError(
                f"a ring needs at least 4 positions (3 corners, then the first again), "
                f"not {len(xs)}",
                loc,
            )
        if len(set(zip(xs, ys, strict=True))) < 3:
            raise _NoArea("a ring needs at least 3 distinct corners to enclose an area", loc)
        xs = self._unwrap(xs, loc)
        return list(zip(xs, ys, strict=True))

    def _unwrap(self, xs: list[float], loc: Loc) -> list[float]:
        """Longitudes made continuous, so that a ring crossing ±180 can be split there.

        Two neighbours both exactly on ±180 are not a crossing by themselves: a box from -180
        to 180 is the whole band of latitudes it spans.
        """
        beyond = [i for i, x in enumerate(xs) if abs(x) > 180.0]
        jumps = [
            i
            for i in range(len(xs) - 1)
            if abs(xs[i + 1] - xs[i]) > 180.0 and not abs(xs[i]) == abs(xs[i + 1]) == 180.0
        ]
        if beyond and jumps:
            raise GeometryError(
                f"longitude {xs[beyond[0]]} is beyond ±180, but the ring also jumps across the "
                f"antimeridian between positions {jumps[0]} and {jumps[0] + 1}: write the ring "
                "either with longitudes in [-180, 180] or with continuous longitudes (for "
                "example 170 to 190)",
                (*loc, beyond[0], 0),
            )
        if jumps:
            # Whole turns are counted rather than steps summed, so that the ring closes exactly.
            turns, out = 0, [xs[0]]
            for x in xs[1:]:
                while x + 360.0 * turns - out[-1] > 180.0:
                    turns -= 1
                while x + 360.0 * turns - out[-1] < -180.0:
                    turns += 1
                out.append(x + 360.0 * turns)
            if turns:
                raise GeometryError(
                    "the ring goes all the way round the Earth, so it would enclose a pole: run "
                    "it along the antimeridian instead (for example [-180, 60] ... [180, 60], "
                    "[180, 90], [-180, 90])",
                    loc,
                )
            xs = out
            self.repairs.append(
                f"the ring at {_where(loc)} crosses the antimeridian: split at ±180"
            )
        elif beyond:
            self.repairs.append(
                f"the ring at {_where(loc)} has longitudes beyond ±180: brought back into "
                "[-180, 180], split at ±180"
            )
        if max(xs) - min(xs) > 360.0:
            raise GeometryError(
                "the ring spans more than 360 degrees of longitude: give longitudes in [-180, 180]",
                loc,
            )
        return xs

    def finish(self, polygons: list[Polygon]) -> ParsedGeometry:
        if self.left_out:
            kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.left_out.items()))
            self.repairs.append(f"left out what is not an area: {kinds}")
        # Every polygon is valid already (checked or repaired one by one): what is left to
        # check is how they meet, never the polygons themselves again.
        merged: BaseGeometry
        if len(polygons) == 1:
            merged = polygons[0]
        else:
            merged = MultiPolygon(polygons)
            check_complexity(merged, max_overlaps=self.max_overlaps)
            if _members_overlap(polygons):
                merged = shapely.union_all(polygons)
                self.repairs.append("merged overlapping or adjacent polygons into one zone")
        parts = _polygons_in(merged)
        if not parts:
            raise GeometryError("the zone has no area: give a polygon that encloses an area", ())
        zone: Zone = parts[0] if len(parts) == 1 else MultiPolygon(parts)
        return ParsedGeometry(zone, self.repairs)


_WKT_TYPES = {
    "POINT": "Point",
    "MULTIPOINT": "MultiPoint",
    "LINESTRING": "LineString",
    "MULTILINESTRING": "MultiLineString",
    "POLYGON": "Polygon",
    "MULTIPOLYGON": "MultiPolygon",
    "GEOMETRYCOLLECTION": "GeometryCollection",
}
_SPACE = re.compile(r"\s*")
_WORD = re.compile(r"[A-Za-z]+")
_SRID = re.compile(r"\s*SRID\s*=\s*([^;]*);", re.IGNORECASE)


class _WktReader:
    """WKT to a GeoJSON-like mapping, reading each run of positions in one go.

    Written here rather than taken from GEOS so that open rings and non-finite numbers reach
    the same checks as GeoJSON, and syntax errors come with their character offset.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def read(self) -> dict[str, Any]:
        srid = _SRID.match(self.text)
        if srid:
            if srid.group(1).strip() != "4326":
                raise GeometryError(
                    f"SRID={srid.group(1).strip()} is not accepted: give lon/lat degrees "
                    "(SRID=4326)",
                    ("srid",),
                )
            self.pos = srid.end()
        geometry = self._geometry(0)
        if self._peek():
            raise self._error("unexpected text after the geometry")
        return geometry

    def _error(self, what: str, pos: int | None = None) -> GeometryError:
        at = self.pos if pos is None else pos
        return GeometryError(f"not valid WKT: {what} at character {at}", ("char", at))

    def _peek(self) -> str:
        match = _SPACE.match(self.text, self.pos)
        self.pos = match.end() if match else self.pos
        return self.text[self.pos : self.pos + 1]

    def _word(self) -> str:
        self._peek()
        match = _WORD.match(self.text, self.pos)
        if not match:
            raise self._error("expected a geometry type such as POLYGON")
        self.pos = match.end()
        return match.group().upper()

    def _expect(self, char: str) -> None:
        if self._peek() != char:
            raise self._error(f"expected {char!r}")
        self.pos += 1

    def _geometry(self, depth: int) -> dict[str, Any]:
        start = self.pos
        name = self._word()
        if name not in _WKT_TYPES:
            raise self._error(f"unknown geometry type {name}: give POLYGON or MULTIPOLYGON", start)
        kind = _WKT_TYPES[name]
        if self._peek().isalpha():
            modifier = self._word()
            if modifier in {"Z", "M", "ZM"} and self._peek().isalpha():
                modifier = self._word()
            if modifier == "EMPTY":
                key = "geometries" if kind == "GeometryCollection" else "coordinates"
                return {"type": kind, key: []}
            if modifier not in {"Z", "M", "ZM"}:
                raise self._error(f"unexpected {modifier!r}")
        if kind == "GeometryCollection":
            if depth >= MAX_DEPTH:
                raise self._error(f"GEOMETRYCOLLECTIONs nest deeper than {MAX_DEPTH}")
            self._expect("(")
            geometries = [self._geometry(depth + 1)]
            while self._peek() == ",":
                self.pos += 1
                geometries.append(self._geometry(depth + 1))
            self._expect(")")
            return {"type": kind, "geometries": geometries}
        return {"type": kind, "coordinates": self._nested()}

    def _nested(self) -> list[Any]:
        self._expect("(")
        if self._peek() != "(" and not self._peek().isalpha():
            return self._positions()
        items: list[Any] = []
        while True:
            if self._peek().isalpha():
                if self._word() != "EMPTY":
                    raise self._error("expected '(' or EMPTY")
                items.append([])
            else:
                items.append(self._nested())
            if self._peek() != ",":
                break
            self.pos += 1
        self._expect(")")
        return items

    def _positions(self) -> list[list[float]]:
        end = self.text.find(")", self.pos)
        if end < 0:
            raise self._error("missing ')'", len(self.text))
        body = self.text[self.pos : end]
        if "(" in body:
            raise self._error("unexpected '('", self.pos + body.index("("))
        positions: list[list[float]] = []
        offset = self.pos
        for chunk in body.split(","):
            numbers_ = chunk.split()
            if not 2 <= len(numbers_) <= 4:
                raise self._error("a position needs 2 to 4 numbers, lon lat first", offset)
            try:
                positions.append([float(numbers_[0]), float(numbers_[1])])
            except ValueError:
                raise self._error(f"{chunk.strip()!r} is not a pair of numbers", offset) from None
            offset += len(chunk) + 1
        self.pos = end + 1
        return positions
