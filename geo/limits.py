"""The limits of a zone that keep its processing time bounded, and the checks of them.

A zone is refused, with the limit it exceeds (``GeometryLimitExceeded``), before the expensive
call its size would make slow: validation, repair, union and intersection in GEOS.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geo.errors import GeometryLimitExceeded
from geo.geometry import Loc

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


def check_limits(max_vertices: int, max_bytes: int) -> None:
    """Refuse limits no zone could meet (a caller's mistake, not the user's)."""
    if max_vertices < 4:
        raise ValueError(f"max_vertices={max_vertices} is too small: give at least 4")
    if max_bytes < 1:
        raise ValueError(f"max_bytes={max_bytes} must be positive")


def check_size(size: int, max_bytes: int) -> None:
    """Refuse an input of more than ``max_bytes``, before it is read further."""
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


#: How many edges, taken at random, the exact count starts with: where a zone is over the limit
#: because part of it crosses another (a star over a comb), a sample finds it in a few chunks.
SAMPLE_EDGES = 4096


def overlapping_pairs(geometry: BaseGeometry, limit: int) -> int:
    """The pairs of edges of ``geometry`` whose bounding boxes overlap, counted exactly, but
    no further than just past ``limit`` (the count stops there, so its time is bounded).

    Edges taken at random come first, then the others in the order of their rings (nearby
    edges one after the other, which the tree answers faster): the pairs of a dense part are
    met early wherever it lies, and a zone over the limit is refused after a few chunks (a star
    over a comb of 100,000 vertices: 0.2 s instead of 0.5 s).
    """
    start, end = _edges(geometry)
    boxes = shapely.box(
        np.minimum(start[:, 0], end[:, 0]),
        np.minimum(start[:, 1], end[:, 1]),
        np.maximum(start[:, 0], end[:, 0]),
        np.maximum(start[:, 1], end[:, 1]),
    )
    tree = shapely.STRtree(boxes)
    sample = np.random.default_rng(0).permutation(len(boxes))[:SAMPLE_EDGES]
    rest = np.ones(len(boxes), dtype=bool)
    rest[sample] = False
    order = np.concatenate([sample, np.flatnonzero(rest)])
    found, done, batch = 0, 0, 256
    while done < len(order):
        chunk = boxes[order[done : done + batch]]
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


def crossings_exceed(polygon: Polygon, limit: int) -> bool:
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
