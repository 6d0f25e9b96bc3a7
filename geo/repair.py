"""Repairs of a zone read from user input: rings made continuous across the antimeridian,
invalid polygons mended, overlapping parts merged; each repair noted for the user."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geo.circles import split_at_antimeridian
from geo.errors import GeometryError
from geo.geometry import Loc, NoArea, Polygonal, Zone, polygons_in, where
from geo.limits import MAX_CROSSINGS, check_complexity, crossings_exceed

Ring = list[tuple[float, float]]


def unwrap(xs: list[float], loc: Loc, repairs: list[str]) -> list[float]:
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
        repairs.append(f"the ring at {where(loc)} crosses the antimeridian: split at ±180")
    elif beyond:
        repairs.append(
            f"the ring at {where(loc)} has longitudes beyond ±180: brought back into "
            "[-180, 180], split at ±180"
        )
    if max(xs) - min(xs) > 360.0:
        raise GeometryError(
            "the ring spans more than 360 degrees of longitude: give longitudes in [-180, 180]",
            loc,
        )
    return xs


def make_polygon(shell: Ring, holes: list[Ring]) -> Polygon:
    """``Polygon(shell, holes)``, its rings made in one call (thousands of holes take long
    one by one); a hole written on the other side of ±180 from its shell is moved to the
    shell's."""
    if holes:
        middle = (min(x for x, _ in shell) + max(x for x, _ in shell)) / 2
        for k, hole in enumerate(holes):
            hole_middle = (min(x for x, _ in hole) + max(x for x, _ in hole)) / 2
            shift = 360.0 * round((middle - hole_middle) / 360.0)
            if shift:
                holes[k] = [(x + shift, y) for x, y in hole]
    rings = [shell, *holes]
    sizes = [len(r) for r in rings]
    coords = np.array([p for r in rings for p in r], dtype=np.float64).reshape(-1, 2)
    made = shapely.linearrings(coords, indices=np.repeat(np.arange(len(rings)), sizes))
    polygon: Polygon = shapely.polygons(made[0], holes=made[1:] if len(made) > 1 else None)
    return polygon


def valid_parts(
    polygon: Polygon, loc: Loc, repairs: list[str], *, max_overlaps: int
) -> list[Polygon]:
    """The valid polygons of ``polygon`` on each side of ±180, repaired when it is invalid.

    Raises
    ------
    GeometryLimitExceeded
        When it is too complex to validate in bounded time (``check_complexity``).
    GeometryError
        When it crosses itself more than ``MAX_CROSSINGS`` times; ``NoArea`` when nothing of it
        is left once repaired.
    """
    # Before the validity check, whose time grows with the square of the edges of a spiky
    # shape: a cheap bound of that time decides whether it runs at all.
    check_complexity(polygon, max_overlaps=max_overlaps, loc=loc)
    if shapely.is_valid(polygon):  # the function: a method holds the GIL throughout
        polygons = [polygon]
    else:
        reason = shapely.is_valid_reason(polygon)
        if crossings_exceed(polygon, MAX_CROSSINGS):
            raise GeometryError(
                f"the polygon crosses itself more than {MAX_CROSSINGS} times and cannot be "
                "repaired: check the order of its positions",
                loc,
            )
        polygons = polygons_in(shapely.make_valid(polygon))
        if not polygons:
            raise NoArea(
                f"the polygon is invalid ({reason}) and has no area once repaired: check "
                "the order of its positions",
                loc,
            )
        repairs.append(f"repaired the invalid polygon at {where(loc)} ({reason})")
    out: list[Polygon] = []
    for p in polygons:
        out += polygons_in(split_at_antimeridian(p))
    return out


def merge(polygons: list[Polygon], repairs: list[str], *, max_overlaps: int) -> Zone:
    """One zone of valid polygons, those that overlap or share an edge united."""
    # Every polygon is valid already (checked or repaired one by one): what is left to
    # check is how they meet, never the polygons themselves again.
    merged: BaseGeometry
    if len(polygons) == 1:
        merged = polygons[0]
    else:
        merged = MultiPolygon(polygons)
        check_complexity(merged, max_overlaps=max_overlaps)
        if _members_overlap(polygons):
            merged = shapely.union_all(polygons)
            repairs.append("merged overlapping or adjacent polygons into one zone")
    parts = polygons_in(merged)
    if not parts:
        raise GeometryError("the zone has no area: give a polygon that encloses an area", ())
    zone: Polygonal = parts[0] if len(parts) == 1 else MultiPolygon(parts)
    return Zone(zone, repairs)


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
