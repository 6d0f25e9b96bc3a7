"""The zone: a checked (Multi)Polygon and the repairs made to it, and what its readers share.

``geo.geojson`` and ``geo.wkt`` read zones from user input, ``geo.limits`` bounds the time that
takes, ``geo.repair`` mends what can be mended.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geo.errors import GeometryError

#: The shape of a usable zone.
Polygonal: TypeAlias = Polygon | MultiPolygon
#: A place in the input: keys and indices from the top of the document (see ``GeometryError``).
Loc: TypeAlias = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Zone:
    """A usable zone: a valid (Multi)Polygon in EPSG:4326 (lon, lat degrees), inside [-180, 180].

    Attributes
    ----------
    geometry : Polygon or MultiPolygon
        Valid, non-empty, polygonal. A zone crossing the antimeridian is split into parts on each
        side of ±180, so that point-in-polygon tests on plain longitudes stay exact.
    repairs : list of str
        What was changed on the way (rings closed, self-intersections resolved, split at the
        antimeridian, non-polygonal parts left out), for the user to check the zone is the one
        they meant. Empty when the input was used as it was, or the zone was made in code (a
        circle).
    """

    geometry: Polygonal
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


class NoArea(GeometryError):
    """A polygon or ring that encloses no area: refused alone, left out of a collection."""


def where(loc: Loc) -> str:
    """A place in the input, in words for a repair note."""
    return "/".join(map(str, loc)) or "the top level"


def polygons_in(geometry: BaseGeometry) -> list[Polygon]:
    """The non-empty polygons of any geometry, collections flattened."""
    out: list[Polygon] = []
    for part in shapely.get_parts(geometry):
        if isinstance(part, Polygon):
            if not part.is_empty and part.area > 0:
                out.append(part)
        elif isinstance(part, MultiPolygon | shapely.GeometryCollection):
            out += polygons_in(part)
    return out
