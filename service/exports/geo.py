"""A crisis map as a file: GeoJSON (RFC 7946), KML 2.2 or a GeoPackage, from the same features.

Pure writers: features in, bytes out. A feature is a polygonal geometry in WGS 84 (lon, lat
degrees), or a point for a feature of the ``people`` layer, the kind of layer it belongs to
(``zones``, ``areas``, ``people``), a name and flat properties (text, numbers, booleans). Every
writer first puts each geometry in the form RFC 7946 asks for, so the three files hold the same
shapes (a point: rounded only):

- a polygon whose longitudes span more than 180 degrees with an edge that jumps more than 180
  degrees (179 then -179) crosses the antimeridian and is split along ±180 into parts on each
  side (``split_antimeridian``);
- coordinates are rounded to 6 decimals (about 0.1 m);
- exterior rings run counter-clockwise and holes clockwise (the right-hand rule).

What the features hold (which counts, rounded or not) is the caller's business: nothing here
counts anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias
from xml.sax.saxutils import escape, quoteattr

import geopandas as gpd
import numpy as np
import orjson
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Point, Polygon, mapping
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from geo.circles import split_at_antimeridian

GEOJSON_MEDIA_TYPE = "application/geo+json"
KML_MEDIA_TYPE = "application/vnd.google-earth.kml+xml"
GPKG_MEDIA_TYPE = "application/geopackage+sqlite3"
#: The media type and file extension of each format.
FORMATS: dict[str, tuple[str, str]] = {
    "geojson": (GEOJSON_MEDIA_TYPE, "geojson"),
    "kml": (KML_MEDIA_TYPE, "kml"),
    "gpkg": (GPKG_MEDIA_TYPE, "gpkg"),
}
#: A map download's ``format`` parameter.
PATTERN = "^(geojson|kml|gpkg)$"
#: The OpenAPI content of a map download.
CONTENT: dict[str, dict[str, object]] = {media: {} for media, _ in FORMATS.values()}
#: Decimals kept of a coordinate: 1e-6 degrees is about 0.1 m.
DECIMALS = 6
#: The layers of a map file, in their order; ``people`` only in a file that asked for it.
KINDS: tuple[str, ...] = ("zones", "areas")
#: The layers of a map file with the points of people.
WITH_PEOPLE: tuple[str, ...] = (*KINDS, "people")
#: Bytes sent in one chunk of a GeoPackage download.
CHUNK_BYTES = 64 * 1024

Kind: TypeAlias = Literal["zones", "areas", "people"]
Value: TypeAlias = str | int | float | bool | None
Polygonal: TypeAlias = Polygon | MultiPolygon

# Characters XML 1.0 cannot carry: the control characters but tab and line ends.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class MapFeature:
    """One feature of a map file: a polygonal geometry (lon, lat), a point for ``people``, its
    layer, name and properties (flat: text, numbers, booleans, ``None``)."""

    kind: Kind
    name: str
    geometry: BaseGeometry
    properties: Mapping[str, Value]


def _crosses(polygon: Polygon) -> bool:
    """Whether a ring of the polygon jumps across ±180: a span over 180 degrees and an edge of
    more than 180 (a polygon merely wide, drawn with short edges, does not cross)."""
    west, _, east, _ = polygon.bounds
    if east - west <= 180.0:
        return False
    for ring in (polygon.exterior, *polygon.interiors):
        x: NDArray[np.float64] = np.asarray(ring.coords)[:, 0]
        if x.size > 1 and bool(np.any(np.abs(np.diff(x)) > 180.0)):
            return True
    return False


def _unwrap(xy: NDArray[np.float64]) -> NDArray[np.float64]:
    x = np.where(xy[:, 0] < 0.0, xy[:, 0] + 360.0, xy[:, 0])
    return np.column_stack([x, xy[:, 1]])


def split_antimeridian(polygon: Polygon) -> Polygonal:
    """The polygon split along ±180 when it crosses the antimeridian (see ``_crosses``), as
    RFC 7946 section 3.1.9 asks; otherwise the polygon itself.

    The crossing polygon is unwrapped (its western longitudes moved by +360, so that 179 and
    -179 become 179 and 181) and cut at 180: ``geo.circles.split_at_antimeridian`` moves the part
    beyond back to the west.
    """
    if polygon.is_empty or not _crosses(polygon):
        return polygon
    unwrapped = shapely.transform(polygon, _unwrap)
    if not unwrapped.is_valid:
        unwrapped = shapely.make_valid(unwrapped)
        parts = [p for p in shapely.get_parts(unwrapped) if isinstance(p, Polygon)]
        unwrapped = MultiPolygon(parts) if len(parts) > 1 else parts[0]
    assert isinstance(unwrapped, Polygon | MultiPolygon)
    return split_at_antimeridian(unwrapped)


def _polygons(geometry: BaseGeometry) -> list[Polygon]:
    """The polygons of a geometry (its other parts, lines or points, are no area)."""
    found: list[Polygon] = []
    for part in shapely.get_parts(geometry):
        if isinstance(part, Polygon):
            found.append(part)
        elif isinstance(part, MultiPolygon) or part.geom_type == "GeometryCollection":
            found += _polygons(part)
    return found


def normalised(geometry: BaseGeometry) -> Polygonal:
    """The geometry as every writer writes it: split at ±180, 6 decimals, right-hand rings."""
    parts: list[Polygon] = []
    for polygon in _polygons(geometry):
        for piece in shapely.get_parts(split_antimeridian(polygon)):
            rounded = shapely.transform(piece, lambda xy: np.round(xy, DECIMALS))
            if isinstance(rounded, Polygon) and not rounded.is_empty:
                parts.append(orient(rounded, 1.0))
    if len(parts) == 1:
        return parts[0]
    return MultiPolygon(parts)


def _point(geometry: BaseGeometry) -> Point:
    """A point as every writer writes it: 6 decimals."""
    assert isinstance(geometry, Point)
    return Point(round(geometry.x, DECIMALS), round(geometry.y, DECIMALS))


def _shape(feature: MapFeature) -> BaseGeometry:
    if feature.kind == "people":
        return _point(feature.geometry)
    return normalised(feature.geometry)


def geojson(features: Iterable[MapFeature]) -> bytes:
    """The features as one GeoJSON FeatureCollection (RFC 7946), each with ``layer`` (its
    kind) and ``name`` among its properties."""
    out = [
        {
            "type": "Feature",
            "geometry": mapping(_shape(f)),
            "properties": {"layer": f.kind, "name": f.name, **f.properties},
        }
        for f in features
    ]
    return orjson.dumps({"type": "FeatureCollection", "features": out})


def _text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("\ufffd", str(value))


def _ring(coords: Sequence[tuple[float, ...]]) -> str:
    return " ".join(f"{c[0]!r},{c[1]!r}" for c in coords)


def _kml_polygon(polygon: Polygon) -> str:
    inner = "".join(
        f"<innerBoundaryIs><LinearRing><coordinates>{_ring(list(r.coords))}</coordinates>"
        "</LinearRing></innerBoundaryIs>"
        for r in polygon.interiors
    )
    return (
        "<Polygon><outerBoundaryIs><LinearRing><coordinates>"
        f"{_ring(list(polygon.exterior.coords))}</coordinates></LinearRing></outerBoundaryIs>"
        f"{inner}</Polygon>"
    )


def _placemark(feature: MapFeature) -> str:
    data = "".join(
        f"<Data name={quoteattr(_text(name))}><value>{escape(_text(value))}</value></Data>"
        for name, value in feature.properties.items()
    )
    if feature.kind == "people":
        point = _point(feature.geometry)
        shapes = f"<Point><coordinates>{point.x!r},{point.y!r}</coordinates></Point>"
    else:
        polygons = _polygons(normalised(feature.geometry))
        shapes = f"<MultiGeometry>{''.join(_kml_polygon(p) for p in polygons)}</MultiGeometry>"
    return (
        f"<Placemark><name>{escape(_text(feature.name))}</name>"
        f"<ExtendedData>{data}</ExtendedData>{shapes}</Placemark>"
    )


def kml(features: Iterable[MapFeature], *, title: str, layers: Sequence[str] = KINDS) -> bytes:
    """The features as a KML 2.2 document named ``title``: a folder per kind (each of
    ``layers``, empty or not), a Placemark per feature, its properties as ``ExtendedData``;
    every text escaped."""
    by_kind: dict[str, list[MapFeature]] = {kind: [] for kind in layers}
    for feature in features:
        by_kind.setdefault(feature.kind, []).append(feature)
    folders = "".join(
        f"<Folder><name>{escape(kind)}</name>{''.join(_placemark(f) for f in found)}</Folder>"
        for kind, found in by_kind.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<name>{escape(_text(title))}</name>{folders}</Document></kml>\n"
    ).encode()


def write_gpkg(features: Iterable[MapFeature], path: str, *, layers: Sequence[str] = KINDS) -> None:
    """The features as a GeoPackage at ``path``: a layer per kind (each of ``layers``, present
    empty or not), MultiPolygons (points for ``people``) in EPSG:4326, a column per property."""
    by_kind: dict[str, list[MapFeature]] = {kind: [] for kind in layers}
    for feature in features:
        by_kind.setdefault(feature.kind, []).append(feature)
    for kind, found in by_kind.items():
        points = kind == "people"
        geometries: list[BaseGeometry] = [
            _point(f.geometry) if points else MultiPolygon(_polygons(normalised(f.geometry)))
            for f in found
        ]
        rows = [{"name": f.name, **f.properties} for f in found]
        frame = gpd.GeoDataFrame(
            rows or {"name": []},
            geometry=gpd.GeoSeries(geometries, crs="EPSG:4326"),
            crs="EPSG:4326",
        )
        frame.to_file(
            path,
            layer=kind,
            driver="GPKG",
            engine="pyogrio",
            geometry_type="Point" if points else "MultiPolygon",
        )


def _gpkg_file(features: list[MapFeature], layers: Sequence[str], folder: str) -> int:
    """The GeoPackage written into ``folder``, open for reading."""
    path = os.path.join(folder, "map.gpkg")
    write_gpkg(features, path, layers=layers)
    return os.open(path, os.O_RDONLY)


async def gpkg_chunks(
    features: Iterable[MapFeature], *, layers: Sequence[str] = KINDS
) -> AsyncIterator[bytes]:
    """The GeoPackage's bytes (a layer each of ``layers``), written to a temporary file in a
    worker thread, in chunks of ``CHUNK_BYTES``; the file is removed once sent (or the download
    given up)."""
    # The folder is made here and removed here, whatever happens: a download given up on while
    # the file is written (the thread goes on) leaves no file of it behind.
    folder = tempfile.mkdtemp(prefix="map-")
    written = asyncio.ensure_future(asyncio.to_thread(_gpkg_file, list(features), layers, folder))
    fd: int | None = None
    try:
        fd = await asyncio.shield(written)
        while chunk := await asyncio.to_thread(os.read, fd, CHUNK_BYTES):
            yield chunk
    finally:
        if fd is None:
            # Cancelled while writing: wait for the thread, then close what it opened.
            with contextlib.suppress(BaseException):
                fd = await written
        if fd is not None:
            os.close(fd)
        shutil.rmtree(folder, ignore_errors=True)
