"""The exposure index agrees exactly with an independent per-point computation."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from geo.circles import geodesic_circle
from geo.exposure import ExposureIndex
from geo.geojson import parse_geojson

N = 20_000
NATIONS = np.array(["PHL", "IDN", "MMR", "NPL", "BGD"])


@pytest.fixture(scope="module")
def register() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(42)
    lon = np.concatenate(
        [
            rng.uniform(99, 104, N // 2),
            rng.uniform(178, 180, N // 4),
            rng.uniform(-180, -178, N // 4),
        ]
    )
    lat = np.concatenate([rng.uniform(0, 6, N // 2), rng.uniform(-18, -16, N // 2)])
    # Points exactly on cell and zone edges and vertices, where the semantics matter.
    lon[:8] = [100.0, 101.0, 100.5, 100.0, 100.05, 179.0, -179.0, 100.25]
    lat[:8] = [1.0, 1.0, 1.0, 1.5, 1.05, -17.0, -17.0, 1.25]
    return {
        "pk": np.arange(N, dtype=np.int64) * 7 + 3,
        "lon": lon,
        "lat": lat,
        "nationality": rng.choice(NATIONS, N),
        "country": np.where(lon > 0, "MYS", "FJI"),
        "sex": rng.choice(np.array(["F", "M", "X"]), N),
        "family": rng.integers(0, 4, N),
        "vulnerable": rng.random(N) < 0.05,
    }


@pytest.fixture(scope="module")
def index(register: dict[str, np.ndarray]) -> ExposureIndex:
    return ExposureIndex.from_arrays(
        pk=register["pk"], lon=register["lon"], lat=register["lat"],
        attributes={"nationality": register["nationality"], "country": register["country"], "sex": register["sex"]},
        family=register["family"], vulnerable=register["vulnerable"],
    )  # fmt: skip


def independent(
    zone: BaseGeometry, register: dict[str, np.ndarray]
) -> tuple[int, Counter[str], int, int]:
    inside = np.array(
        [zone.contains(Point(x, y)) for x, y in zip(register["lon"], register["lat"], strict=True)]
    )
    return (
        int(inside.sum()),
        Counter(register["nationality"][inside].tolist()),
        int(register["family"][inside].sum()),
        int(register["vulnerable"][inside].sum()),
    )


ZONES = {
    "square on cell edges": box(100.0, 1.0, 101.0, 2.0),
    "with a hole": Polygon(
        [(99.5, 0.5), (103, 0.5), (103, 4), (99.5, 4)], [[(100, 1), (101, 1), (101, 2), (100, 2)]]
    ),
    "multipolygon": MultiPolygon([box(99.2, 0.2, 99.9, 0.9), box(102.3, 3.3, 103.9, 5.9)]),
    "concave": Polygon([(99, 0), (104, 0), (104, 6), (101.5, 2), (99, 6)]),
    "circle 150 km": geodesic_circle(101.69, 3.14, 150_000),
    "antimeridian": parse_geojson(
        {
            "type": "Polygon",
            "coordinates": [
                [[179, -17.5], [-179, -17.5], [-179, -16.5], [179, -16.5], [179, -17.5]]
            ],
        }
    ).geometry,
    "antimeridian circle": geodesic_circle(179.9, -17.0, 120_000),
    "everything": box(-180, -90, 180, 90),
    "nothing": box(10, 10, 11, 11),
}


@pytest.mark.parametrize("name", list(ZONES))
def test_counts_are_exact(name: str, index: ExposureIndex, register: dict[str, np.ndarray]) -> None:
    zone = ZONES[name]
    total, by_nationality, family, vulnerable = independent(zone, register)
    counts = index.query(zone)
    assert counts.workers == total
    assert counts.by_nationality == dict(by_nationality)
    assert counts.accompanying_family == family
    assert counts.vulnerable == vulnerable
    assert sum(counts.by_sex.values()) == total
    assert sum(sum(c.values()) for c in counts.by_nationality_country.values()) == total
    assert len(index.select_pks(zone)) == total


def test_points_on_the_edge_are_not_inside(index: ExposureIndex) -> None:
    assert 3 not in index.select_pks(box(100.0, 1.0, 101.0, 2.0))  # pk of (100.0, 1.0), a vertex


def test_nationality_filters(index: ExposureIndex, register: dict[str, np.ndarray]) -> None:
    zone = ZONES["circle 150 km"]
    only = index.query(zone, nationalities=["PHL"])
    assert set(only.by_nationality) <= {"PHL"}
    assert only.workers == index.query(zone).by_nationality.get("PHL", 0)
    pks = index.select_pks(zone, nationalities=["PHL"])
    assert set(register["nationality"][np.isin(register["pk"], pks)]) <= {"PHL"}


def test_upserts_and_removals_are_seen_at_once() -> None:
    index = ExposureIndex.from_arrays(
        pk=[1, 2, 3],
        lon=[100.1, 100.2, 120.0],
        lat=[1.1, 1.2, 10.0],
        attributes={"nationality": ["PHL", "IDN", "PHL"]},
    )
    zone = box(100, 1, 101, 2)
    assert index.query(zone).by_nationality == {"PHL": 1, "IDN": 1}
    index.upsert(
        pk=[3, 4], lon=[100.5, 100.6], lat=[1.5, 1.6], attributes={"nationality": ["PHL", "KHM"]}
    )
    assert index.query(zone).by_nationality == {"PHL": 2, "IDN": 1, "KHM": 1}
    index.upsert(pk=[4], lon=[130.0], lat=[1.6], attributes={"nationality": ["KHM"]})  # moved away
    index.remove([2])
    assert index.query(zone).by_nationality == {"PHL": 2}
    index.merge()
    assert index.query(zone).by_nationality == {"PHL": 2}
    assert list(index.select_pks(zone)) == [1, 3]
    assert len(index) == 3


def test_out_of_range_points_are_refused() -> None:
    with pytest.raises(ValueError, match="lon"):
        ExposureIndex.from_arrays(pk=[1], lon=[181.0], lat=[0.0], attributes={})


@pytest.mark.parametrize("name", ["star", "comb", "holes", "squares"])
def test_spiky_zones_cut_into_pieces_count_exactly_the_points_inside(name: str) -> None:
    """A spiky zone is counted piece by piece (``_Slabs``): the same points as one test against
    the whole zone, vertices, points on the edges and on cell lines included."""
    from shapely.geometry import shape

    from geo import exposure
    from tests import hostile_zones as hz

    zone = shape(
        {
            "star": hz.star(2_000),
            "comb": hz.comb(5_001),
            "holes": hz.holes(900),
            "squares": hz.squares(900),
        }[name]
    )
    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = zone.bounds
    lon = rng.uniform(minx, maxx, 20_000)
    lat = rng.uniform(miny, maxy, 20_000)
    corners = shapely.get_coordinates(zone)[:2_000]
    lon[: len(corners)], lat[: len(corners)] = corners[:, 0], corners[:, 1]
    lon[2_000:4_000] = np.round(lon[2_000:4_000], 2)  # on cell lines
    lat[4_000:6_000] = np.round(lat[4_000:6_000], 2)
    index = ExposureIndex.from_arrays(
        pk=np.arange(len(lon)), lon=lon, lat=lat, attributes={"nationality": ["PHL"] * len(lon)}
    )
    assert not exposure._Slabs(zone, deadline=None).simple or name == "squares"
    expected = np.flatnonzero(shapely.contains_xy(zone, lon, lat))
    assert np.array_equal(index.select_pks(zone), expected)
