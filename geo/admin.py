"""Which country and province a point lies in, with the boundaries the product ships."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

#: Points this close to a country, but outside every polygon, are taken to be in it: the
#: boundaries are generalised and coastal cities may fall a little offshore. In degrees of
#: latitude (5 km); longitude degrees shrink with latitude, so this is a little generous.
SNAP_DEGREES = 5.0 / 111.32
#: Within this of land (50 km), a point at sea is reported at sea, never as swapped coordinates.
COAST_DEGREES = 50.0 / 111.32


@dataclass(frozen=True, slots=True)
class Location:
    """Where a point is.

    ``flag`` is None for a point on land, ``"snapped"`` when it was within ``SNAP_DEGREES`` of a
    country and taken to be in it, ``"at_sea"`` when it is outside every country,
    ``"swapped_lat_lon"`` when it is outside every country but would fall in one with latitude and
    longitude exchanged, ``"out_of_range"`` when a coordinate is out of range.
    """

    country: str | None
    admin1: str | None
    flag: str | None


def _first_containing(
    tree: shapely.STRtree,
    geoms: NDArray[np.object_],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
) -> NDArray[np.intp]:
    """Index of the first geometry strictly containing each point, or -1.

    Candidates come from the tree's bounding boxes; the exact test is ``contains_xy`` per
    geometry over all its candidates at once, which avoids a GEOS call per point pair.
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


def _load(name: str) -> list[dict[str, Any]]:
    raw = resources.files("geo").joinpath(f"data/{name}").read_bytes()
    features: list[dict[str, Any]] = json.loads(gzip.decompress(raw))["features"]
    return features


class AdminAreas:
    """Country and first-level subdivision polygons, indexed for fast point lookup.

    Countries are ISO 3166-1 alpha-3 (or the Natural Earth code for the few territories without
    one); subdivisions are the ``adm1_id`` of the shipped data (ISO 3166-2 where one exists).
    """

    def __init__(self, countries: list[dict[str, Any]], admin1: list[dict[str, Any]]) -> None:
        self.country_codes = np.array(
            [f["properties"].get("iso_a3") or f["properties"]["ne_adm0_a3"] for f in countries],
            dtype=object,
        )
        self.country_geoms = np.array([shape(f["geometry"]) for f in countries], dtype=object)
        self.admin1_codes = np.array([f["properties"]["adm1_id"] for f in admin1], dtype=object)
        self.admin1_country = np.array([f["properties"]["iso_a3"] for f in admin1], dtype=object)
        self.admin1_geoms = np.array([shape(f["geometry"]) for f in admin1], dtype=object)
        shapely.prepare(self.country_geoms)
        shapely.prepare(self.admin1_geoms)
        self._countries = shapely.STRtree(self.country_geoms)
        self._admin1 = shapely.STRtree(self.admin1_geoms)
        self._by_country = {
            str(c): g for c, g in zip(self.country_codes, self.country_geoms, strict=True)
        }
        self._by_admin1 = {
            str(c): g for c, g in zip(self.admin1_codes, self.admin1_geoms, strict=True)
        }

    @classmethod
    @lru_cache(maxsize=1)
    def load(cls) -> AdminAreas:
        """The shipped boundaries, loaded once per process (about a second)."""
        return cls(_load("countries.geojson.gz"), _load("admin1_focus.geojson.gz"))

    def locate(self, lon: float, lat: float) -> Location:
        """Where one point (EPSG:4326 degrees) lies."""
        countries, admin1, flags = self.locate_many(
            np.array([lon], dtype=float), np.array([lat], dtype=float)
        )
        return Location(countries[0], admin1[0], flags[0])

    def locate_many(
        self, lons: NDArray[np.float64], lats: NDArray[np.float64]
    ) -> tuple[list[str | None], list[str | None], list[str | None]]:
        """Country, subdivision and flag of each point; vectorised (a million points in seconds).

        Parameters
        ----------
        lons, lats : ndarray of float
            Longitudes and latitudes in degrees, EPSG:4326.
        """
        lons = np.asarray(lons, dtype=float)
        lats = np.asarray(lats, dtype=float)
        n = len(lons)
        country: NDArray[np.object_] = np.full(n, None, dtype=object)
        admin1: NDArray[np.object_] = np.full(n, None, dtype=object)
        flag: NDArray[np.object_] = np.full(n, None, dtype=object)
        ok = np.isfinite(lons) & np.isfinite(lats) & (np.abs(lons) <= 180) & (np.abs(lats) <= 90)
        flag[~ok] = "out_of_range"
        idx = np.flatnonzero(ok)
        x, y = lons[idx], lats[idx]

        found_country, found_admin1 = self._containing(x, y)
        country[idx] = found_country
        admin1[idx] = found_admin1
        rest = np.flatnonzero(found_country == None)  # noqa: E711 - elementwise on objects
        if len(rest):
            near_country, near_admin1 = self._nearby(x[rest], y[rest])
            snapped = near_country != None  # noqa: E711
            country[idx[rest[snapped]]] = near_country[snapped]
            admin1[idx[rest[snapped]]] = near_admin1[snapped]
            flag[idx[rest[snapped]]] = "snapped"
            rest = rest[~snapped]
        if len(rest):
            lost = idx[rest]
            flag[lost] = "at_sea"
            # Only far from any coast is a swap the likelier story: a point a few km offshore of
            # Doha also lands in Europe when swapped, but it is a point at sea.
            coastal, _ = self._nearby(x[rest], y[rest], radius=COAST_DEGREES)
            lost = lost[coastal == None]  # noqa: E711
            swap_ok = np.flatnonzero(np.abs(lons[lost]) <= 90)
            swapped_country, _ = self._nearby(
                lats[lost][swap_ok], lons[lost][swap_ok], exact_too=True
            )
            flag[lost[swap_ok[swapped_country != None]]] = "swapped_lat_lon"  # noqa: E711
        return country.tolist(), admin1.tolist(), flag.tolist()

    def _containing(
        self, x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> tuple[NDArray[np.object_], NDArray[np.object_]]:
        """Country and subdivision strictly containing each point (None where none does)."""
        country: NDArray[np.object_] = np.full(len(x), None, dtype=object)
        admin1: NDArray[np.object_] = np.full(len(x), None, dtype=object)
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

    def _nearby(
        self,
        x: NDArray[np.float64],
        y: NDArray[np.float64],
        *,
        exact_too: bool = False,
        radius: float = SNAP_DEGREES,
    ) -> tuple[NDArray[np.object_], NDArray[np.object_]]:
        """Land within ``radius`` degrees of each point, probing two rings of eight directions.

        Probing is far cheaper than a nearest-polygon search on detailed coastlines, and at the
        scale of the generalisation error (a few km) it finds the same land.
        """
        probes = [(0.0, 0.0)] if exact_too else []
        for ring in (radius / 2, radius):
            probes += [
                (ring * np.cos(a), ring * np.sin(a))
                for a in np.linspace(0, 2 * np.pi, 8, endpoint=False)
            ]
        m = len(x)
        shrink = np.maximum(np.cos(np.radians(y)), 0.2)
        px = np.concatenate([x + dx / shrink for dx, _ in probes])
        py = np.concatenate([np.clip(y + dy, -90, 90) for _, dy in probes])
        px = (px + 180.0) % 360.0 - 180.0
        country, admin1 = self._containing(px, py)
        out_country: NDArray[np.object_] = np.full(m, None, dtype=object)
        out_admin1: NDArray[np.object_] = np.full(m, None, dtype=object)
        for k in reversed(range(len(probes))):  # the nearest probe wins: it is written last
            block = slice(k * m, (k + 1) * m)
            hit = country[block] != None  # noqa: E711
            out_country[hit] = country[block][hit]
            out_admin1[hit] = admin1[block][hit]
        return out_country, out_admin1

    def country_geometry(self, iso3: str) -> BaseGeometry | None:
        """The polygon of a country (EPSG:4326), for zones given as a country."""
        return self._by_country.get(iso3)

    def admin1_geometry(self, code: str) -> BaseGeometry | None:
        """The polygon of a subdivision by its ``adm1_id`` (ISO 3166-2 where one exists)."""
        return self._by_admin1.get(code)

    def countries_intersecting(self, geometry: BaseGeometry) -> list[str]:
        """Countries a zone touches, sorted."""
        hits = self._countries.query(geometry, predicate="intersects")
        return sorted({str(self.country_codes[i]) for i in hits})
