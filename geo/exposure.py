"""The exposure index: every registered location in memory, answering "who is in this zone?"
exactly, broken down by nationality, country, province, sector and sex.

Points are kept as columns sorted by a grid cell key (``cell_deg`` degrees, EPSG:4326). A query
classifies only the occupied cells under the zone's bounding box: cells strictly inside the zone
are taken whole, cells outside are skipped, and only points in cells crossing the zone's edge
are tested one by one (``shapely.contains_xy``). Semantics equal PostGIS ``ST_Contains(zone,
point)``: a point exactly on the edge is not inside.

A point test looks at every edge of the zone that a horizontal line through the point crosses.
That is a handful for a real zone, but thousands for a spiky one (a star, a comb of vertical
teeth), and then a query over a dense register would take minutes. Such a zone is first cut
into vertical slabs (``_Slabs``), each crossed a few times only, and each cell and each point
is tested against its own slab: the same answers, in time that grows with the points and the
vertices, not their product. Changes go to a small delta (scanned
exactly on every query) and tombstones, merged into the sorted base when the delta grows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from geo.errors import check_deadline

#: Categorical attributes of each point. ``employer`` and ``agency`` are directory ids (or ""), so
#: that a crisis can reach the employers and recruitment agencies of the people in its zone.
ATTRIBUTES = ("nationality", "country", "admin1", "sector", "sex", "employer", "agency")
CODE = np.int32
#: A zone (or slab of it) whose edges a horizontal line crosses more often than this, on average
#: over its height, is cut into narrower slabs for the point tests.
SLAB_CROSSINGS = 32.0
#: Narrowest slab, in degrees (about a centimetre): below, points are tested as they are.
MIN_SLAB_DEG = 1e-7
#: Points tested per call between two looks at the deadline.
_CHUNK = 200_000
#: Which workers a selection keeps, by whether they stand in their own country of nationality:
#: "exclude" (migrant workers only: the default), "only" (nationals at home only), "include".
OWN_COUNTRY_CHOICES = ("exclude", "only", "include")


@dataclass(frozen=True, slots=True)
class ExposureCounts:
    """Exact counts of the registered migrant workers strictly inside a zone.

    A worker located in their own country of nationality (a Malaysian in Malaysia) is not a
    migrant worker there: they are in none of the counts, only in ``nationals_in_own_country``.
    """

    workers: int
    by_nationality: dict[str, int]
    by_country: dict[str, int]
    by_admin1: dict[str, int]
    by_sector: dict[str, int]
    by_sex: dict[str, int]
    accompanying_family: int
    vulnerable: int
    #: Exposed workers per employer and per recruitment agency (directory ids).
    by_employer: dict[str, int] = field(default_factory=dict)
    by_agency: dict[str, int] = field(default_factory=dict)
    #: nationality → country → count: which embassy in which host country is concerned.
    by_nationality_country: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Workers inside the zone located in their own country of nationality: counted apart,
    #: never in ``workers`` nor in any breakdown.
    nationals_in_own_country: int = 0


class Vocabulary:
    """Strings ↔ small integer codes, append-only (codes never change meaning). Code 0 is ''."""

    def __init__(self) -> None:
        self.values: list[str] = [""]
        self.codes: dict[str, int] = {"": 0}
        self._lock = threading.Lock()

    def encode(self, values: Iterable[str | None]) -> NDArray[np.int32]:
        out = []
        for value in values:
            key = value or ""
            code = self.codes.get(key)
            if code is None:
                with self._lock:
                    code = self.codes.setdefault(key, len(self.values))
                    if code == len(self.values):
                        self.values.append(key)
            out.append(code)
        return np.asarray(out, dtype=CODE)

    def encode_array(self, values: Any) -> NDArray[np.int32]:
        """Vectorised: encode the distinct values once, then map. Takes an array of strings, or
        anything with ``categories`` and ``codes`` (a pandas Categorical) without expanding it."""
        if hasattr(values, "categories") and hasattr(values, "codes"):
            table = np.append(self.encode(str(c) for c in values.categories), CODE(0))
            raw = np.asarray(values.codes)
            mapped: NDArray[np.int32] = table[np.where(raw < 0, len(table) - 1, raw)].astype(CODE)
            return mapped
        uniques, inverse = np.unique(
            np.asarray(values, dtype=object).astype(str), return_inverse=True
        )
        codes = self.encode(str(u) if u not in ("None", "nan") else "" for u in uniques)
        return codes[inverse].astype(CODE)


@dataclass(frozen=True, slots=True)
class _Columns:
    pk: NDArray[np.int64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    codes: dict[str, NDArray[np.int32]]
    family: NDArray[np.int32]
    vulnerable: NDArray[np.bool_]

    @staticmethod
    def empty() -> _Columns:
        return _Columns(
            np.empty(0, np.int64),
            np.empty(0, np.float64),
            np.empty(0, np.float64),
            {a: np.empty(0, CODE) for a in ATTRIBUTES},
            np.empty(0, np.int32),
            np.empty(0, np.bool_),
        )

    def take(self, rows: NDArray[np.intp]) -> _Columns:
        return _Columns(
            self.pk[rows],
            self.lon[rows],
            self.lat[rows],
            {a: c[rows] for a, c in self.codes.items()},
            self.family[rows],
            self.vulnerable[rows],
        )

    def concat(self, other: _Columns) -> _Columns:
        return _Columns(
            np.concatenate([self.pk, other.pk]),
            np.concatenate([self.lon, other.lon]),
            np.concatenate([self.lat, other.lat]),
            {a: np.concatenate([self.codes[a], other.codes[a]]) for a in ATTRIBUTES},
            np.concatenate([self.family, other.family]),
            np.concatenate([self.vulnerable, other.vulnerable]),
        )

    def __len__(self) -> int:
        return len(self.pk)


@dataclass(frozen=True, slots=True)
class _Base:
    """The sorted, immutable bulk of the index."""

    cols: _Columns
    cell_keys: NDArray[np.int64]  # occupied cells, sorted
    cell_start: NDArray[np.int64]  # first row of each occupied cell (len = cells + 1)
    pk_order: NDArray[np.int64]  # rows sorted by pk, for removals
    alive: NDArray[np.bool_]


class ExposureIndex:
    """In-memory, exact point-in-zone counts over millions of registered locations.

    Parameters
    ----------
    cell_deg : float
        Grid cell size in degrees (EPSG:4326). Smaller cells mean fewer exact tests at the zone's
        edge but more cells to classify; 0.05° (about 5.5 km) suits city floods to cyclones.
    merge_at : int
        Delta size at which changes are merged into the sorted base.
    """

    def __init__(self, *, cell_deg: float = 0.05, merge_at: int = 50_000) -> None:
        self.cell_deg = cell_deg
        self.nx = round(360.0 / cell_deg)
        self.merge_at = merge_at
        self.vocab = {a: Vocabulary() for a in ATTRIBUTES}
        self._lock = threading.RLock()
        self._base = self._sorted(_Columns.empty())
        self._delta = _Columns.empty()

    # ---- building and keeping current -------------------------------------------------------
    def _columns(
        self,
        pk: Sequence[int] | NDArray[Any],
        lon: Sequence[float] | NDArray[Any],
        lat: Sequence[float] | NDArray[Any],
        attributes: Mapping[str, Sequence[str | None] | NDArray[Any]],
        family: Sequence[int] | NDArray[Any] | None,
        vulnerable: Sequence[bool] | NDArray[Any] | None,
    ) -> _Columns:
        n = len(pk)
        lon_a = np.asarray(lon, dtype=np.float64)
        lat_a = np.asarray(lat, dtype=np.float64)
        if not (np.all(np.abs(lon_a) <= 180) and np.all(np.abs(lat_a) <= 90)):
            raise ValueError("lon must be within [-180, 180] and lat within [-90, 90] (EPSG:4326)")
        codes = {}
        for a in ATTRIBUTES:
            values = attributes.get(a)
            codes[a] = np.zeros(n, CODE) if values is None else self.vocab[a].encode_array(values)
        return _Columns(
            np.asarray(pk, dtype=np.int64),
            lon_a,
            lat_a,
            codes,
            np.zeros(n, np.int32) if family is None else np.asarray(family, dtype=np.int32),
            np.zeros(n, np.bool_) if vulnerable is None else np.asarray(vulnerable, dtype=np.bool_),
        )

    def _cell_of(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.int64]:
        ix = np.clip(((lon + 180.0) / self.cell_deg).astype(np.int64), 0, self.nx - 1)
        iy = np.clip(
            ((lat + 90.0) / self.cell_deg).astype(np.int64),
            0,
            round(180.0 / self.cell_deg) - 1,
        )
        return iy * self.nx + ix

    def _sorted(self, cols: _Columns) -> _Base:
        keys = self._cell_of(cols.lon, cols.lat)
        order = np.argsort(keys, kind="stable")
        cols = cols.take(order)
        keys = keys[order]
        occupied, first = np.unique(keys, return_index=True)
        return _Base(
            cols=cols,
            cell_keys=occupied,
            cell_start=np.append(first, len(keys)).astype(np.int64),
            pk_order=np.argsort(cols.pk, kind="stable").astype(np.int64),
            alive=np.ones(len(cols), np.bool_),
        )

    @classmethod
    def from_arrays(
        cls,
        *,
        pk: Sequence[int] | NDArray[Any],
        lon: Sequence[float] | NDArray[Any],
        lat: Sequence[float] | NDArray[Any],
        attributes: Mapping[str, Sequence[str | None] | NDArray[Any]],
        family: Sequence[int] | NDArray[Any] | None = None,
        vulnerable: Sequence[bool] | NDArray[Any] | None = None,
        cell_deg: float = 0.05,
    ) -> ExposureIndex:
        """Build the index in bulk. ``pk`` identifies each point (unique); ``attributes`` maps
        each of ``ATTRIBUTES`` to one value per point (missing ones count as '')."""
        index = cls(cell_deg=cell_deg)
        index._base = index._sorted(index._columns(pk, lon, lat, attributes, family, vulnerable))
        return index

    def __len__(self) -> int:
        with self._lock:
            return int(self._base.alive.sum()) + len(self._delta)

    def _base_rows(self, base: _Base, pks: NDArray[np.int64]) -> NDArray[np.int64]:
        sorted_pk = base.cols.pk[base.pk_order]
        pos = np.searchsorted(sorted_pk, pks)
        pos = np.clip(pos, 0, max(len(sorted_pk) - 1, 0))
        if not len(sorted_pk):
            return np.empty(0, np.int64)
        hit = sorted_pk[pos] == pks
        rows: NDArray[np.int64] = base.pk_order[pos[hit]]
        return rows

    def remove(self, pks: Iterable[int]) -> None:
        """Forget these points (erased or unlocated workers)."""
        drop = np.fromiter(pks, dtype=np.int64)
        if not len(drop):
            return
        with self._lock:
            base = self._base
            alive = base.alive.copy()
            alive[self._base_rows(base, drop)] = False
            self._base = _Base(base.cols, base.cell_keys, base.cell_start, base.pk_order, alive)
            keep = ~np.isin(self._delta.pk, drop)
            self._delta = self._delta.take(np.flatnonzero(keep))

    def upsert(
        self,
        *,
        pk: Sequence[int] | NDArray[Any],
        lon: Sequence[float] | NDArray[Any],
        lat: Sequence[float] | NDArray[Any],
        attributes: Mapping[str, Sequence[str | None] | NDArray[Any]],
        family: Sequence[int] | NDArray[Any] | None = None,
        vulnerable: Sequence[bool] | NDArray[Any] | None = None,
    ) -> None:
        """Add or replace points by ``pk``."""
        fresh = self._columns(pk, lon, lat, attributes, family, vulnerable)
        with self._lock:
            self.remove(fresh.pk.tolist())
            self._delta = self._delta.concat(fresh)
            if len(self._delta) >= self.merge_at:
                self.merge()

    def merge(self) -> None:
        """Fold the delta and tombstones into a new sorted base."""
        with self._lock:
            live = self._base.cols.take(np.flatnonzero(self._base.alive))
            self._base = self._sorted(live.concat(self._delta))
            self._delta = _Columns.empty()

    # ---- queries ------------------------------------------------------------------------------
    def _rows_inside(self, zone: _Slabs, base: _Base) -> NDArray[np.int64]:
        """Rows of the base strictly inside ``zone`` (alive or not)."""
        if not len(base.cell_keys) or zone.empty:
            return np.empty(0, np.int64)
        minx, miny, maxx, maxy = zone.zone.bounds
        lo = self._cell_of(np.array([minx]), np.array([miny]))[0]
        hi = self._cell_of(np.array([maxx]), np.array([maxy]))[0]
        ix0, iy0 = lo % self.nx, lo // self.nx
        ix1, iy1 = hi % self.nx, hi // self.nx
        rows_y = np.arange(iy0, iy1 + 1, dtype=np.int64)
        left = np.searchsorted(base.cell_keys, rows_y * self.nx + ix0)
        right = np.searchsorted(base.cell_keys, rows_y * self.nx + ix1, side="right")
        cells = _ranges(left.astype(np.int64), right.astype(np.int64))
        if not len(cells):
            return np.empty(0, np.int64)
        keys = base.cell_keys[cells]
        # A cell's box is widened by a hair: its corners, computed back from the key, are off
        # by rounding from the bounds of the points that ``_cell_of`` put in it (lon 100.6
        # falls in the cell whose box starts at 100.60000000000002), and a box taken whole
        # must hold all of them, or a point on the zone's edge next to it would be counted.
        margin = self.cell_deg * 1e-6
        x0 = (keys % self.nx) * self.cell_deg - 180.0 - margin
        y0 = (keys // self.nx) * self.cell_deg - 90.0 - margin
        side = self.cell_deg + 2 * margin
        boxes = shapely.box(x0, y0, x0 + side, y0 + side)
        inside, edge = zone.classify(boxes)
        starts, ends = base.cell_start[cells], base.cell_start[cells + 1]
        parts = [_ranges(starts[inside], ends[inside])]
        if edge.any():
            candidates = _ranges(starts[edge], ends[edge])
            hit = zone.contains_xy(base.cols.lon[candidates], base.cols.lat[candidates])
            parts.append(candidates[hit])
        return np.concatenate(parts)

    def _delta_rows(self, zone: _Slabs, delta: _Columns) -> NDArray[np.int64]:
        if not len(delta):
            return np.empty(0, np.int64)
        return np.flatnonzero(zone.contains_xy(delta.lon, delta.lat)).astype(np.int64)

    def _selection(
        self, zone: BaseGeometry, deadline: float | None
    ) -> list[tuple[_Columns, NDArray[np.int64]]]:
        with self._lock:
            base, delta = self._base, self._delta
        slabs = _Slabs(zone, deadline=deadline)
        rows = self._rows_inside(slabs, base)
        rows = rows[base.alive[rows]]
        return [(base.cols, rows), (delta, self._delta_rows(slabs, delta))]

    def query(
        self,
        zone: BaseGeometry,
        *,
        nationalities: Iterable[str] | None = None,
        countries: Iterable[str] | None = None,
        deadline: float | None = None,
    ) -> ExposureCounts:
        """Exact counts of the points strictly inside ``zone`` (a (Multi)Polygon in EPSG:4326),
        optionally only of some nationalities, and of some countries of location.

        ``deadline`` is a ``time.monotonic()`` value: past it, the query stops between two
        steps with ``geo.errors.DeadlineExceeded``."""
        wanted = None if nationalities is None else self._codes("nationality", nationalities)
        where = None if countries is None else self._codes("country", countries)
        totals = {a: np.zeros(len(self.vocab[a].values), np.int64) for a in ATTRIBUTES}
        pair: dict[tuple[int, int], int] = {}
        family = vulnerable = workers = at_home = 0
        selection = self._selection(zone, deadline)
        home = self._home_country()
        for cols, rows in selection:
            if wanted is not None:
                rows = rows[np.isin(cols.codes["nationality"][rows], wanted)]
            if where is not None:
                rows = rows[np.isin(cols.codes["country"][rows], where)]
            own = _in_own_country(cols, rows, home)
            at_home += int(own.sum())
            rows = rows[~own]
            if not len(rows):
                continue
            workers += len(rows)
            for a in ATTRIBUTES:
                counted = np.bincount(cols.codes[a][rows], minlength=len(totals[a]))
                totals[a] = _add(totals[a], counted)
            family += int(cols.family[rows].sum())
            vulnerable += int(cols.vulnerable[rows].sum())
            combo = (
                cols.codes["nationality"][rows].astype(np.int64) * 65536
                + cols.codes["country"][rows]
            )
            values, counts = np.unique(combo, return_counts=True)
            for v, c in zip(values.tolist(), counts.tolist(), strict=True):
                key = (v // 65536, v % 65536)
                pair[key] = pair.get(key, 0) + c
        named = {a: self._named(a, totals[a]) for a in ATTRIBUTES}
        nat_country: dict[str, dict[str, int]] = {}
        for (n, c), count in sorted(pair.items()):
            nat_country.setdefault(self.vocab["nationality"].values[n], {})[
                self.vocab["country"].values[c]
            ] = count
        return ExposureCounts(
            workers=workers,
            by_nationality=named["nationality"],
            by_country=named["country"],
            by_admin1=named["admin1"],
            by_sector=named["sector"],
            by_sex=named["sex"],
            by_employer={k: v for k, v in named["employer"].items() if k != "unknown"},
            by_agency={k: v for k, v in named["agency"].items() if k != "unknown"},
            accompanying_family=family,
            vulnerable=vulnerable,
            by_nationality_country=nat_country,
            nationals_in_own_country=at_home,
        )

    def select_pks(
        self,
        zone: BaseGeometry,
        *,
        nationalities: Iterable[str] | None = None,
        own_country: str = "exclude",
        deadline: float | None = None,
    ) -> NDArray[np.int64]:
        """The ``pk`` of every point strictly inside ``zone``, sorted; optionally by nationality.
        ``own_country`` (one of ``OWN_COUNTRY_CHOICES``) says whether workers located in their
        own country of nationality are left out (the default), the only ones, or kept
        (``deadline`` as for ``query``)."""
        if own_country not in OWN_COUNTRY_CHOICES:
            raise ValueError(f"own_country is one of {OWN_COUNTRY_CHOICES}, not {own_country!r}")
        out = []
        wanted = None
        if nationalities is not None:
            wanted = np.array(
                [self.vocab["nationality"].codes.get(n, -1) for n in nationalities], dtype=CODE
            )
        selection = self._selection(zone, deadline)
        home = self._home_country()
        for cols, rows in selection:
            if wanted is not None:
                rows = rows[np.isin(cols.codes["nationality"][rows], wanted)]
            if own_country != "include":
                own = _in_own_country(cols, rows, home)
                rows = rows[own if own_country == "only" else ~own]
            out.append(cols.pk[rows])
        return np.sort(np.concatenate(out)) if out else np.empty(0, np.int64)

    def _home_country(self) -> NDArray[np.int32]:
        """For each nationality code, the country code of the same country (-1: none). Taken
        after the selection, so that it knows every code the selected points carry."""
        countries = self.vocab["country"].codes
        return np.array(
            [countries.get(n, -1) if n else -1 for n in list(self.vocab["nationality"].values)],
            dtype=CODE,
        )

    def _codes(self, attribute: str, values: Iterable[str]) -> NDArray[Any]:
        """The codes of the values of ``attribute`` the index knows (an unknown one matches
        nothing)."""
        codes = self.vocab[attribute].codes
        return np.array([codes[v] for v in values if v in codes], dtype=CODE)

    def _named(self, attribute: str, counts: NDArray[np.int64]) -> dict[str, int]:
        values = self.vocab[attribute].values
        return {
            values[i] if values[i] else "unknown": int(c)
            for i, c in enumerate(counts.tolist())
            if c
        }


def _in_own_country(
    cols: _Columns, rows: NDArray[np.int64], home: NDArray[np.int32]
) -> NDArray[np.bool_]:
    """Whether each row's worker is located in their own country of nationality."""
    at_home: NDArray[np.bool_] = (
        home[cols.codes["nationality"][rows]] == cols.codes["country"][rows]
    )
    return at_home


def _add(a: NDArray[np.int64], b: NDArray[np.int64]) -> NDArray[np.int64]:
    if len(b) > len(a):
        a = np.pad(a, (0, len(b) - len(a)))
    elif len(a) > len(b):
        b = np.pad(b, (0, len(a) - len(b)))
    return a + b


def _ranges(starts: NDArray[np.int64], ends: NDArray[np.int64]) -> NDArray[np.int64]:
    """The concatenation of ``arange(s, e)`` for each pair, without a Python loop."""
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, np.int64)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    rows: NDArray[np.int64] = np.arange(total, dtype=np.int64) + offsets
    return rows


def _segments(
    pieces: NDArray[np.object_],
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Every edge of every piece: (piece, middle x, middle y, height)."""
    parts, part_of = shapely.get_parts(pieces, return_index=True)
    polygons = shapely.get_type_id(parts) == 3
    parts, part_of = parts[polygons], part_of[polygons]
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords, coord_of = shapely.get_coordinates(rings, return_index=True)
    same = coord_of[1:] == coord_of[:-1]
    start, end = coords[:-1][same], coords[1:][same]
    owner = part_of[ring_of[coord_of[1:][same]]]
    middle = (start + end) / 2
    return owner, middle[:, 0], middle[:, 1], np.abs(end[:, 1] - start[:, 1])


class _Slabs:
    """A zone, cut into rectangles when it is spiky, for the point tests.

    A point test against a zone looks at every edge that a horizontal line through the point
    crosses: a handful for a real zone (under 20 on average for every country outline), but
    thousands for a star or a comb of vertical teeth. Such a zone is cut in two, again and
    again (a k-d tree), across whichever axis lowers that number most, until each rectangle's
    piece is crossed ``SLAB_CROSSINGS`` times at most on average over its height. Each piece
    is the zone clipped to a rectangle a hair larger than its own, so that a point inside the
    rectangle gets the same answer against the piece as against the zone (the clipped edges
    run outside it). Only rectangles holding points to test are cut. The cells under a spiky
    zone are not classified (that too would test every spike against every cell): all their
    points are tested.
    """

    def __init__(self, zone: BaseGeometry, *, deadline: float | None) -> None:
        self.zone = zone
        self.deadline = deadline
        self.empty = bool(zone.is_empty)
        _, _, _, rise = _segments(np.array([zone], dtype=object))
        _, miny, _, maxy = zone.bounds if not self.empty else (0.0, 0.0, 0.0, 0.0)
        self.simple = self.empty or bool(rise.sum() <= SLAB_CROSSINGS * max(maxy - miny, 1e-300))

    def _pieces(
        self, px: NDArray[np.float64], py: NDArray[np.float64]
    ) -> tuple[NDArray[np.object_], NDArray[np.intp]]:
        """(pieces, the piece of each point); points outside every piece point at the last,
        an empty polygon."""
        minx, miny, maxx, maxy = self.zone.bounds
        rect = np.array([[minx, miny, maxx, maxy]], np.float64)
        pieces = np.array([self.zone], dtype=object)
        final: list[BaseGeometry] = []
        point_piece = np.full(len(px), -1, np.intp)
        inside = (px >= minx) & (px <= maxx) & (py >= miny) & (py <= maxy)
        pt = np.flatnonzero(inside)
        pt_node = np.zeros(len(pt), np.intp)
        while len(pt):
            check_deadline(self.deadline)
            n = len(pieces)
            width, height = rect[:, 2] - rect[:, 0], rect[:, 3] - rect[:, 1]
            owner, mx, my, rise = _segments(pieces)
            total = np.bincount(owner, weights=rise, minlength=n)
            empty = shapely.is_empty(pieces)
            leaf = (
                empty
                | (total <= SLAB_CROSSINGS * np.maximum(height, 1e-300))
                | (np.maximum(width, height) <= MIN_SLAB_DEG)
            )
            done = leaf[pt_node]
            number = np.full(n, -1, np.intp)
            for node in np.unique(pt_node[done]).tolist():
                if not empty[node]:
                    number[node] = len(final)
                    final.append(pieces[node])
            point_piece[pt[done]] = number[pt_node[done]]
            pt, pt_node = pt[~done], pt_node[~done]
            if not len(pt):
                break
            # Cut in the middle, across the axis whose worse half is crossed least.
            cut_x, cut_y = rect[:, 0] + width / 2, rect[:, 1] + height / 2
            left = np.bincount(owner, weights=rise * (mx < cut_x[owner]), minlength=n)
            low = np.bincount(owner, weights=rise * (my < cut_y[owner]), minlength=n)
            worse_x = np.maximum(left, total - left) / np.maximum(height, 1e-300)
            worse_y = np.maximum(low, total - low) / np.maximum(height / 2, 1e-300)
            across_x = (worse_x < worse_y) | ((worse_x == worse_y) & (width >= height))
            busy = np.unique(pt_node)
            k = np.full(n, -1, np.intp)
            k[busy] = np.arange(len(busy))
            b_rect, b_x = rect[busy], across_x[busy]
            cut = np.where(b_x, cut_x[busy], cut_y[busy])
            lo_rect, hi_rect = b_rect.copy(), b_rect.copy()
            lo_rect[:, 2] = np.where(b_x, cut, b_rect[:, 2])
            lo_rect[:, 3] = np.where(b_x, b_rect[:, 3], cut)
            hi_rect[:, 0] = np.where(b_x, cut, b_rect[:, 0])
            hi_rect[:, 1] = np.where(b_x, b_rect[:, 1], cut)
            rect = np.stack([lo_rect, hi_rect], axis=1).reshape(-1, 4)
            # 2k is the low side of busy rectangle k, 2k + 1 the high side.
            node = k[pt_node]
            high = np.where(b_x[node], px[pt] >= cut[node], py[pt] >= cut[node])
            pt_node = 2 * node + high
            wanted = np.zeros(len(rect), np.bool_)
            wanted[pt_node] = True
            parents = np.repeat(pieces[busy], 2)
            children = np.empty(len(rect), dtype=object)
            for i in np.flatnonzero(wanted).tolist():
                x0, y0, x1, y1 = rect[i]
                margin = max(x1 - x0, y1 - y0) * 1e-6 + 1e-12
                children[i] = shapely.clip_by_rect(
                    parents[i], x0 - margin, y0 - margin, x1 + margin, y1 + margin
                )
            children[~wanted] = shapely.Polygon()
            pieces = children
        out = np.array([*final, shapely.Polygon()], dtype=object)
        shapely.prepare(out)
        return out, point_piece

    def classify(self, boxes: NDArray[np.object_]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """(strictly inside, crossing the edge) for each cell box. Under a spiky zone every cell
        counts as crossing its edge."""
        if not self.simple:
            return np.zeros(len(boxes), np.bool_), np.ones(len(boxes), np.bool_)
        shapely.prepare(self.zone)
        inside = np.zeros(len(boxes), np.bool_)
        edge = np.zeros(len(boxes), np.bool_)
        step = _CHUNK // 10
        for start in range(0, len(boxes), step):
            check_deadline(self.deadline)
            part = slice(start, start + step)
            inside[part] = shapely.contains_properly(self.zone, boxes[part])
            edge[part] = ~inside[part] & shapely.intersects(self.zone, boxes[part])
        return inside, edge

    def contains_xy(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Whether each point is strictly inside the zone."""
        if self.simple:
            shapely.prepare(self.zone)
            pieces, of = np.array([self.zone], dtype=object), np.zeros(len(lon), np.intp)
        else:
            pieces, of = self._pieces(lon, lat)
        out = np.zeros(len(lon), np.bool_)
        for start in range(0, len(lon), _CHUNK):
            check_deadline(self.deadline)
            part = slice(start, start + _CHUNK)
            out[part] = shapely.contains_xy(pieces[of[part]], lon[part], lat[part])
        if not self.simple:
            shapely.destroy_prepared(pieces)
        return out
