"""Which country and province a point lies in, with the boundaries the product ships."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal, NamedTuple, TypeAlias

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

#: A point outside every country but this close to one (in metres) is taken to be in the nearest:
#: the shipped boundaries are generalised (Natural Earth 1:10m, simplified again), and coastal
#: cities such as Manila, Singapore or Dubai can fall a few hundred metres offshore.
SNAP_M = 5_000.0
#: A point at sea within this distance of land (in metres) is reported at sea, never as swapped
#: coordinates: a point a few km off Doha also lands in Europe once swapped, but it is at sea.
COAST_M = 50_000.0

Flag: TypeAlias = Literal["snapped", "at_sea", "swapped_lat_lon", "out_of_range"]
_ObjectArray: TypeAlias = NDArray[np.object_]
_FloatArray: TypeAlias = NDArray[np.float64]
_IndexArray: TypeAlias = NDArray[np.intp]

# WGS84, for metres per degree at a latitude.
_A = 6_378_137.0
_E2 = 0.006_694_379_990_14
# Points per batch of the boundary-distance search, to bound memory on large inputs.
_BATCH = 100_000


@dataclass(frozen=True, slots=True)
class Location:
    """Where a point is.

    Attributes
    ----------
    country : str or None
        ISO 3166-1 alpha-3 (``"PHL"``); for the few territories without one, the Natural Earth
        code (``"KAS"`` for Siachen); Kosovo is ``"XKX"``. None when no country was found.
    admin1 : str or None
        The first-level subdivision, only in the 28 countries that ship them: the ISO 3166-2
        code where one exists (``"MY-14"``), else the data's own stable id (``"PH-X-MANILA"``,
        region ``PH-00``; ``"HK-X-WAN_CHAI"``). None elsewhere.
    flag : str or None
        None for a point inside a country. ``"snapped"``: outside every polygon but within
        ``SNAP_M`` metres of one, and placed in the nearest country. ``"at_sea"``: outside every
        country. ``"swapped_lat_lon"``: at sea far from any coast, or with a latitude beyond ±90,
        but on land once latitude and longitude are exchanged (``country`` stays None: the point
        as given is not in it). ``"out_of_range"``: not a finite longitude in [-180, 180] and
        latitude in [-90, 90].
    """

    country: str | None
    admin1: str | None
    flag: Flag | None


class Located(NamedTuple):
    """Where many points are: three object arrays of the same length as the input.

    ``country``, ``admin1`` and ``flag`` hold, per point, what ``Location`` holds for one.
    """

    country: _ObjectArray
    admin1: _ObjectArray
    flag: _ObjectArray


def _metres_per_degree(lat: _FloatArray) -> tuple[_FloatArray, _FloatArray]:
    """Metres per degree of longitude and of latitude at each latitude, on the WGS84 ellipsoid."""
    phi = np.radians(lat)
    w = np.sqrt(1.0 - _E2 * np.sin(phi) ** 2)
    per_lon = np.radians(1.0) * _A * np.cos(phi) / w
    per_lat = np.radians(1.0) * _A * (1.0 - _E2) / w**3
    return per_lon, per_lat


def _first_containing(
    tree: shapely.STRtree, geoms: _ObjectArray, x: _FloatArray, y: _FloatArray
) -> _IndexArray:
    """Index of the first geometry strictly containing each point, or -1.

    Candidates come from the tree's bounding boxes; the exact test is ``contains_xy`` per
    geometry over all its candidate points at once, which avoids a GEOS call per pair.
    """
    result = np.full(len(x), -1, dtype=np.intp)
    if not len(x):
        return result
    pt, gi = tree.query(shapely.points(x, y))
    if not len(pt):
        return result
    order = np.argsort(gi, kind="stable")
    pt, gi = pt[order], gi[order]
    cuts = np.flatnonzero(np.diff(gi)) + 1
    for start, end in zip(np.r_[0, cuts], np.r_[cuts, len(gi)], strict=True):
        cand = pt[start:end]
        cand = cand[result[cand] < 0]
        if len(cand):
            inside = shapely.contains_xy(geoms[gi[start]], x[cand], y[cand])
            result[cand[inside]] = gi[start]
    return result


class _Edges:
    """The boundary segments of a set of polygons, for the nearest one to a point in metres.

    Distances are measured in a local frame around each point (metres per degree at its
    latitude), accurate to well under 1 % at the few tens of kilometres this is used for, and
    across ±180.
    """

    def __init__(self, geoms: _ObjectArray, group: _IndexArray) -> None:
        lines, owner = shapely.get_parts(shapely.boundary(geoms), return_index=True)
        coords, line = shapely.get_coordinates(lines, return_index=True)
        same = line[:-1] == line[1:]
        self.owner = owner[line[:-1][same]]
        self.group = group[self.owner]
        self.x1, self.y1 = coords[:-1][same, 0], coords[:-1][same, 1]
        self.x2, self.y2 = coords[1:][same, 0], coords[1:][same, 1]
        self.tree = shapely.STRtree(
            shapely.box(
                np.minimum(self.x1, self.x2),
                np.minimum(self.y1, self.y2),
                np.maximum(self.x1, self.x2),
                np.maximum(self.y1, self.y2),
            )
        )

    def nearest(
        self,
        x: _FloatArray,
        y: _FloatArray,
        radius_m: float,
        among: _IndexArray | None = None,
    ) -> _IndexArray:
        """The owner of the nearest boundary within ``radius_m`` metres of each point, or -1.

        With ``among``, only the boundaries of the polygons whose group is ``among[i]`` count
        for point ``i``.
        """
        out = np.full(len(x), -1, dtype=np.intp)
        for start in range(0, len(x), _BATCH):
            part = slice(start, start + _BATCH)
            out[part] = self._nearest(
                x[part], y[part], radius_m, None if among is None else among[part]
            )
        return out

    def _nearest(
        self, x: _FloatArray, y: _FloatArray, radius_m: float, among: _IndexArray | None
    ) -> _IndexArray:
        out = np.full(len(x), -1, dtype=np.intp)
        if not len(x):
            return out
        per_lon, per_lat = _metres_per_degree(y)
        dlon = np.minimum(radius_m / np.maximum(per_lon, 1e-6), 180.0)
        dlat = radius_m / per_lat
        point = np.arange(len(x))
        boxes = [(point, x)]
        # A search box reaching past ±180 is searched again on the other side.
        west, east = np.flatnonzero(x - dlon < -180.0), np.flatnonzero(x + dlon > 180.0)
        boxes += [(west, x[west] + 360.0), (east, x[east] - 360.0)]
        of_box = np.concatenate([p for p, _ in boxes])
        cx = np.concatenate([c for _, c in boxes])
        cy, half_w, half_h = y[of_box], dlon[of_box], dlat[of_box]
        found, seg = self.tree.query(
            shapely.box(cx - half_w, cy - half_h, cx + half_w, cy + half_h)
        )
        p = of_box[found]
        if among is not None:
            keep = self.group[seg] == among[p]
            p, seg = p[keep], seg[keep]
        if not len(p):
            return out
        px, py, mx, my = x[p], y[p], per_lon[p], per_lat[p]
        ax = ((self.x1[seg] - px + 180.0) % 360.0 - 180.0) * mx
        ay = (self.y1[seg] - py) * my
        bx = ((self.x2[seg] - px + 180.0) % 360.0 - 180.0) * mx
        by = (self.y2[seg] - py) * my
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = np.clip(-(ax * dx + ay * dy) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
        distance = np.hypot(ax + t * dx, ay + t * dy)
        order = np.lexsort((distance, p))
        p, seg, distance = p[order], seg[order], distance[order]
        first = np.r_[True, p[1:] != p[:-1]] & (distance <= radius_m)
        out[p[first]] = self.owner[seg[first]]
        return out


def _load(name: str) -> list[dict[str, Any]]:
    raw = resources.files("geo").joinpath("data", name).read_bytes()
    features: list[dict[str, Any]] = json.loads(gzip.decompress(raw))["features"]
    return features


def _as_points(lons: ArrayLike, lats: ArrayLike) -> tuple[_FloatArray, _FloatArray]:
    try:
        x = np.asarray(lons, dtype=np.float64)
        y = np.asarray(lats, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"lons and lats must be numbers of degrees: {exc}") from exc
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            f"lons and lats must be one-dimensional and of the same length, not of shapes "
            f"{x.shape} and {y.shape}"
        )
    return x, y


class AdminAreas:
    """Country and first-level subdivision polygons, indexed for fast point lookup.

    Use ``AdminAreas.load()`` for the shipped boundaries (EPSG:4326, lon/lat degrees):
    Natural Earth 1:10m countries and the subdivisions of 28 countries of origin and
    destination. Countries are ISO 3166-1 alpha-3; subdivisions the ``adm1_id`` of the data, the
    ISO 3166-2 code where one exists (see ``Location``).

    Parameters
    ----------
    countries, admin1 : list of GeoJSON features
        Countries with ``iso_a3`` (or ``ne_adm0_a3``); subdivisions with ``adm1_id``, ``iso_a3``
        and optionally ``iso_3166_2`` and ``parent_iso_3166_2``.
    """

    def __init__(self, countries: list[dict[str, Any]], admin1: list[dict[str, Any]]) -> None:
        self.country_codes: _ObjectArray = np.array(
            [f["properties"].get("iso_a3") or f["properties"]["ne_adm0_a3"] for f in countries],
            dtype=object,
        )
        #: The country's name in the data (``"IDN"`` → ``"Indonesia"``).
        self.country_names: dict[str, str] = {
            str(code): str(f["properties"]["name"])
            for code, f in zip(self.country_codes, countries, strict=True)
            if f["properties"].get("name")
        }
        self.country_geoms: _ObjectArray = np.array(
            [shape(f["geometry"]) for f in countries], dtype=object
        )
        self.admin1_codes: _ObjectArray = np.array(
            [f["properties"]["adm1_id"] for f in admin1], dtype=object
        )
        #: The subdivision's name in the data (``"MY-10"`` → ``"Selangor"``), by ``adm1_id``.
        self.admin1_names: dict[str, str] = {
            str(f["properties"]["adm1_id"]): str(f["properties"]["name"])
            for f in admin1
            if f["properties"].get("name")
        }
        self.admin1_country: _ObjectArray = np.array(
            [f["properties"]["iso_a3"] for f in admin1], dtype=object
        )
        self.admin1_geoms: _ObjectArray = np.array(
            [shape(f["geometry"]) for f in admin1], dtype=object
        )
        shapely.prepare(self.country_geoms)
        shapely.prepare(self.admin1_geoms)
        self._countries = shapely.STRtree(self.country_geoms)
        self._admin1 = shapely.STRtree(self.admin1_geoms)
        self._country_index = {str(c): i for i, c in enumerate(self.country_codes)}
        self._admin1_country_index = np.array(
            [self._country_index.get(str(c), -1) for c in self.admin1_country], dtype=np.intp
        )
        # A code may name one feature (its adm1_id), several (an ISO code shared after a merger,
        # IN-DH) or a parent region (PH-00, Metro Manila): each resolves to the union.
        self._admin1_members: dict[str, list[int]] = {}
        for key in ("adm1_id", "iso_3166_2", "parent_iso_3166_2"):
            members: dict[str, list[int]] = {}
            for i, f in enumerate(admin1):
                code = f["properties"].get(key)
                if code:
                    members.setdefault(str(code), []).append(i)
            for code, idx in members.items():
                self._admin1_members.setdefault(code, idx)
        self._unions: dict[str, BaseGeometry] = {}
        self._edges: tuple[_Edges, _Edges] | None = None
        self._lock = threading.Lock()

    @classmethod
    @lru_cache(maxsize=1)
    def load(cls) -> AdminAreas:
        """The shipped boundaries, loaded once per process (well under a second)."""
        return cls(_load("countries.geojson.gz"), _load("admin1_focus.geojson.gz"))

    def locate(self, lon: float, lat: float) -> Location:
        """Where one point lies.

        Parameters
        ----------
        lon, lat : float
            Degrees, EPSG:4326.

        Returns
        -------
        Location
        """
        found = self.locate_many(np.array([lon], dtype=float), np.array([lat], dtype=float))
        return Location(found.country[0], found.admin1[0], found.flag[0])

    def locate_many(self, lons: ArrayLike, lats: ArrayLike) -> Located:
        """Country, subdivision and flag of each point, vectorised.

        Parameters
        ----------
        lons, lats : array_like of float
            Longitudes and latitudes in degrees, EPSG:4326, of the same length.

        Returns
        -------
        Located
            ``(country, admin1, flag)``: object arrays holding str or None, as in ``Location``.

        Notes
        -----
        Containment is one bounding-box query on an STRtree and one vectorised ``contains_xy``
        per candidate polygon. Only points outside every polygon go on to the boundary-distance
        search (snapping, coasts) and the swapped-coordinates test. A million points on land take
        a few seconds.
        """
        x, y = _as_points(lons, lats)
        n = len(x)
        country: _ObjectArray = np.full(n, None, dtype=object)
        admin1: _ObjectArray = np.full(n, None, dtype=object)
        flag: _ObjectArray = np.full(n, None, dtype=object)
        with np.errstate(invalid="ignore"):
            finite = np.isfinite(x) & np.isfinite(y)
            ok = finite & (np.abs(x) <= 180.0) & (np.abs(y) <= 90.0)
        flag[~ok] = "out_of_range"
        idx = np.flatnonzero(ok)
        found_country, found_admin1, snapped = self._place(x[idx], y[idx])
        country[idx], admin1[idx] = found_country, found_admin1
        flag[idx[snapped]] = "snapped"
        lost = idx[found_country == None]  # noqa: E711 - elementwise on an object array
        flag[lost] = "at_sea"
        # Swapped coordinates: the point given cannot be where it says (far at sea, or a
        # latitude beyond ±90), but the exchanged one is on land.
        with np.errstate(invalid="ignore"):
            beyond = finite & (np.abs(y) > 90.0) & (np.abs(y) <= 180.0) & (np.abs(x) <= 90.0)
        suspects = np.concatenate([lost[np.abs(x[lost]) <= 90.0], np.flatnonzero(beyond)])
        if len(suspects):
            swapped_country, _, _ = self._place(y[suspects], x[suspects])
            suspects = suspects[swapped_country != None]  # noqa: E711
        at_sea = suspects[flag[suspects] == "at_sea"]
        if len(at_sea):
            coastal = self._boundaries()[0].nearest(x[at_sea], y[at_sea], COAST_M) >= 0
            suspects = np.setdiff1d(suspects, at_sea[coastal])
        flag[suspects] = "swapped_lat_lon"
        return Located(country, admin1, flag)

    def _place(
        self, x: _FloatArray, y: _FloatArray
    ) -> tuple[_ObjectArray, _ObjectArray, NDArray[np.bool_]]:
        """Country and subdivision of in-range points, snapping those just off a coast."""
        country, admin1 = self._containing(x, y)
        snapped = np.zeros(len(x), dtype=bool)
        lost = np.flatnonzero(country == None)  # noqa: E711
        if not len(lost):
            return country, admin1, snapped
        country_edges, admin1_edges = self._boundaries()
        near = country_edges.nearest(x[lost], y[lost], SNAP_M)
        hit = lost[near >= 0]
        near = near[near >= 0]
        country[hit] = self.country_codes[near]
        snapped[hit] = True
        # The subdivision is the nearest of that country's own, so a point in the strait
        # between Johor and Singapore placed in Singapore is never given Johor; a little
        # slack allows for subdivision and country outlines not matching to the metre.
        sub = admin1_edges.nearest(x[hit], y[hit], 2.0 * SNAP_M, among=near)
        admin1[hit[sub >= 0]] = self.admin1_codes[sub[sub >= 0]]
        return country, admin1, snapped

    def _containing(self, x: _FloatArray, y: _FloatArray) -> tuple[_ObjectArray, _ObjectArray]:
        """Country and subdivision strictly containing each point (None where none does)."""
        country: _ObjectArray = np.full(len(x), None, dtype=object)
        admin1: _ObjectArray = np.full(len(x), None, dtype=object)
        # Subdivisions first: where they exist, they also give the country.
        hit = _first_containing(self._admin1, self.admin1_geoms, x, y)
        inside = hit >= 0
        admin1[inside] = self.admin1_codes[hit[inside]]
        country[inside] = self.admin1_country[hit[inside]]
        rest = np.flatnonzero(~inside)
        if len(rest):
            hit = _first_containing(self._countries, self.country_geoms, x[rest], y[rest])
            inside = hit >= 0
            country[rest[inside]] = self.country_codes[hit[inside]]
        return country, admin1

    def _boundaries(self) -> tuple[_Edges, _Edges]:
        """Boundary segments of countries and subdivisions, built on first use (a few tenths of
        a second), since most batches have every point on land."""
        with self._lock:
            if self._edges is None:
                self._edges = (
                    _Edges(self.country_geoms, np.arange(len(self.country_codes))),
                    _Edges(self.admin1_geoms, self._admin1_country_index),
                )
            return self._edges

    def country_geometry(self, iso3: str) -> Polygon | MultiPolygon | None:
        """The polygon of a country, for zones given as a whole country.

        Parameters
        ----------
        iso3 : str
            ISO 3166-1 alpha-3 (or the Natural Earth code of a territory without one).

        Returns
        -------
        Polygon or MultiPolygon or None
            In EPSG:4326 (lon, lat); None for a code the data does not hold.
        """
        i = self._country_index.get(iso3.strip().upper())
        if i is None:
            return None
        geometry: Polygon | MultiPolygon = self.country_geoms[i]
        return geometry

    def admin1_geometry(self, code: str) -> Polygon | MultiPolygon | None:
        """The polygon of a first-level subdivision, for CAP ISO 3166-2 geocodes.

        Parameters
        ----------
        code : str
            The ``adm1_id`` of the data (``"MY-14"``, ``"PH-X-MANILA"``), an ISO 3166-2 code
            (``"IN-DH"`` covers two features), or a parent region's ISO 3166-2 code (``"PH-00"``,
            Metro Manila), which gives the union of its members.

        Returns
        -------
        Polygon or MultiPolygon or None
            In EPSG:4326 (lon, lat); None for a code the data does not hold (subdivisions
            exist only for the 28 countries shipped).
        """
        key = code.strip().upper()
        members = self._admin1_members.get(key)
        if members is None:
            return None
        if len(members) == 1:
            single: Polygon | MultiPolygon = self.admin1_geoms[members[0]]
            return single
        with self._lock:
            union = self._unions.get(key)
            if union is None:
                union = shapely.union_all(self.admin1_geoms[members])
                self._unions[key] = union
        if not isinstance(union, Polygon | MultiPolygon):
            return None
        return union

    def admin1_name(self, code: str | None) -> str | None:
        """The name of a first-level subdivision (``"MY-10"`` → ``"Selangor"``).

        Parameters
        ----------
        code : str or None
            The ``adm1_id`` of the data, as ``locate`` returns it.

        Returns
        -------
        str or None
            None for no code, or one the data does not hold (``"unknown"`` in a breakdown).
        """
        return self.admin1_names.get(code) if code else None

    def country_name(self, code: str | None) -> str | None:
        """The name of a country (``"IDN"`` → ``"Indonesia"``); None for one the data lacks."""
        return self.country_names.get(code) if code else None

    def names_of_admin1(self, codes: Iterable[str]) -> dict[str, str]:
        """``{code: name}`` for those of ``codes`` the data names, sorted by code."""
        return {c: n for c in sorted(set(codes)) if (n := self.admin1_name(c)) is not None}

    def countries_intersecting(self, geometry: BaseGeometry) -> list[str]:
        """Countries whose interior a zone overlaps.

        Parameters
        ----------
        geometry : shapely geometry
            In EPSG:4326 (lon, lat), inside [-180, 180].

        Returns
        -------
        list of str
            Sorted country codes. A zone that only touches a border does not count.
        """
        hits = self._countries.query(geometry, predicate="intersects")
        touching = shapely.touches(self.country_geoms[hits], geometry)
        return sorted({str(self.country_codes[i]) for i in hits[~touching]})
