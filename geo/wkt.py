"""Zones from WKT and EWKT (lon lat order, EPSG:4326), read with the rules of GeoJSON."""

from __future__ import annotations

import re
from typing import Any

from geo.errors import GeometryError
from geo.geojson import Reader
from geo.geometry import Zone
from geo.limits import MAX_BYTES, MAX_DEPTH, MAX_OVERLAPS, MAX_VERTICES, check_limits, check_size


def parse_wkt(
    text: str | bytes,
    *,
    max_vertices: int = MAX_VERTICES,
    max_bytes: int = MAX_BYTES,
    max_overlaps: int = MAX_OVERLAPS,
) -> Zone:
    """Read a zone from WKT or EWKT (lon lat order, EPSG:4326), with the rules of ``parse_geojson``.

    Parameters
    ----------
    text : str or bytes
        For example ``POLYGON ((100 0, 101 0, 101 1, 100 1, 100 0))``, optionally prefixed with
        ``SRID=4326;``. Z and M values are read and dropped.
    max_vertices, max_bytes, max_overlaps : int
        As for ``geo.geojson.parse_geojson``.

    Returns
    -------
    Zone

    Raises
    ------
    GeometryError
        A syntax error is located as ``("char", offset)``; a problem in the coordinates as in
        GeoJSON, for example ``("coordinates", 0, 3, 1)`` (polygon rings, then positions).
    """
    check_limits(max_vertices, max_bytes)
    if isinstance(text, bytes | bytearray):
        check_size(len(text), max_bytes)
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GeometryError(f"the WKT is not UTF-8 text: {exc}", ()) from exc
    if not isinstance(text, str):
        raise GeometryError(f"expected WKT text, not {type(text).__name__}", ())
    check_size(len(text.encode("utf-8")), max_bytes)
    obj = _WktReader(text).read()
    return Reader(max_vertices, max_overlaps).read(obj, top=False)


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
