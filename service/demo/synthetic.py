"""A realistic synthetic register: workers placed around real cities of their destination in
proportion to real corridor stocks, with names of their nationality, local mobile numbers, and
plausible sectors, sexes, families and vulnerabilities. For the demo, tests and benchmarks; never
real people."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from geo.admin import AdminAreas

# Sector mix by sex, from the shape of ILO/ASEAN labour statistics for the region: domestic and
# care work mostly women, construction and fishing mostly men.
_SECTORS = (
    "domestic_work",
    "construction",
    "manufacturing",
    "agriculture",
    "fishing",
    "hospitality",
    "care",
    "services",
    "other",
)
_SECTOR_P = {
    "F": (0.30, 0.02, 0.25, 0.08, 0.01, 0.12, 0.10, 0.10, 0.02),
    "M": (0.02, 0.32, 0.28, 0.14, 0.06, 0.06, 0.01, 0.09, 0.02),
}
_VULNERABILITIES = ("pregnant", "disability", "chronic_illness", "elderly", "trafficking_survivor")
_LANGUAGE = {
    "PHL": "tl",
    "IDN": "id",
    "MMR": "my",
    "KHM": "km",
    "LAO": "lo",
    "VNM": "vi",
    "THA": "th",
    "BGD": "bn",
    "NPL": "ne",
    "IND": "hi",
    "LKA": "si",
    "PAK": "ur",
    "CHN": "zh",
    "MYS": "ms",
    "SGP": "en",
    "TLS": "pt",
    "BRN": "ms",
}


@dataclass(frozen=True, slots=True)
class Names:
    """Common given names by sex and family names of one nationality (``data/names.csv``)."""

    given: dict[str, tuple[str, ...]]  # by sex, "F" and "M"
    family: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MobilePlan:
    """How a country's mobile numbers look (``data/mobile_numbers.csv``): the E.164 calling
    code, the first digits of mobile numbers, and the length of the national number."""

    calling_code: str
    prefixes: tuple[str, ...]
    national_digits: int


def _data_rows(name: str) -> list[dict[str, str]]:
    with resources.files("service.demo.data").joinpath(name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@lru_cache(maxsize=1)
def names() -> dict[str, Names]:
    """The name tables, by nationality (ISO 3166-1 alpha-3)."""
    parts: dict[str, dict[str, tuple[str, ...]]] = {}
    for row in _data_rows("names.csv"):
        parts.setdefault(row["nationality"], {})[row["part"]] = tuple(row["names"].split(";"))
    return {
        n: Names(given={"F": p["F"], "M": p["M"]}, family=p["family"]) for n, p in parts.items()
    }


@lru_cache(maxsize=1)
def mobile_plans() -> dict[str, MobilePlan]:
    """The mobile numbering of each destination country."""
    return {
        row["country_iso3"]: MobilePlan(
            row["calling_code"],
            tuple(row["mobile_prefixes"].split(";")),
            int(row["national_digits"]),
        )
        for row in _data_rows("mobile_numbers.csv")
    }


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def mobile_number(rng: np.random.Generator, plan: MobilePlan) -> str:
    """A random mobile number of the plan, in E.164 form (``+60123456789``)."""
    prefix = _pick(rng, plan.prefixes)
    rest = plan.national_digits - len(prefix)
    return f"+{plan.calling_code}{prefix}{int(rng.integers(10**rest)):0{rest}d}"


@dataclass(frozen=True, slots=True)
class Corridor:
    origin: str
    destination: str
    stock: int
    female_share: float


@dataclass(frozen=True, slots=True)
class City:
    name: str
    country: str
    lat: float
    lon: float
    population: int


def corridors() -> list[Corridor]:
    """The latest edition's row for each corridor."""
    latest: dict[tuple[str, str], dict[str, str]] = {}
    with resources.files("service.demo.data").joinpath("corridors.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            key = (row["origin_iso3"], row["destination_iso3"])
            if key not in latest or row["edition"] > latest[key]["edition"]:
                latest[key] = row
    out = []
    for (origin, destination), row in sorted(latest.items()):
        stock = int(row["migrant_stock"])
        female = int(row["migrant_stock_female"] or 0)
        out.append(Corridor(origin, destination, stock, female / stock if stock else 0.5))
    return out


def cities(path: Path | None = None) -> dict[str, list[City]]:
    """Cities of 15,000 people or more, by country (GeoNames, shipped in ``geo/data``)."""
    source = path or Path(str(resources.files("geo").joinpath("data/cities.csv")))
    by_country: dict[str, list[City]] = {}
    with source.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            city = City(
                row["name"],
                row["country_iso3"],
                float(row["lat"]),
                float(row["lon"]),
                int(row["population"]),
            )
            by_country.setdefault(city.country, []).append(city)
    return by_country


@dataclass(frozen=True, slots=True)
class SyntheticRegister:
    """Columns of a synthetic register (vectorised, for millions of rows)."""

    nationality: np.ndarray
    destination: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    sex: np.ndarray
    sector: np.ndarray
    family: np.ndarray
    vulnerable: np.ndarray

    def __len__(self) -> int:
        return len(self.lat)


#: How many times a scattered point that left its destination country is drawn again.
_SCATTER_TRIES = 3
#: Points located per call, to bound memory at tens of millions.
_LOCATE_CHUNK = 1_000_000


def _lands_in(
    areas: AdminAreas, lon: np.ndarray, lat: np.ndarray, country: np.ndarray
) -> np.ndarray:
    """Whether each point lies on land (or just off a coast) of its own ``country``."""
    inside = np.zeros(len(lon), dtype=bool)
    for start in range(0, len(lon), _LOCATE_CHUNK):
        end = start + _LOCATE_CHUNK
        found, _, flags = areas.locate_many(lon[start:end], lat[start:end])
        inside[start:end] = [
            c == want and f in (None, "snapped")
            for c, f, want in zip(found, flags, country[start:end], strict=True)
        ]
    return inside


def _cities_inside(areas: AdminAreas, country: str, towns: list[City]) -> list[City]:
    """The country's cities whose centre the shipped boundaries place in that country (the
    generalised borders can put a border town on the other side); all of them if none is."""
    inside = _lands_in(
        areas,
        np.array([c.lon for c in towns]),
        np.array([c.lat for c in towns]),
        np.full(len(towns), country, dtype=object),
    )
    return [c for c, ok in zip(towns, inside, strict=True) if ok] or towns


def synthetic_register(
    n: int, *, seed: int = 7, destinations: set[str] | None = None, spread_km: float = 6.0
) -> SyntheticRegister:
    """``n`` workers: corridors drawn by migrant stock, cities of the destination by population,
    a normal scatter of ``spread_km`` around the city (a point that falls at sea or in another
    country is drawn again, then put on the city), sex by the corridor's female share, sector by
    sex. Each worker stands in the corridor's destination country, as the shipped boundaries
    tell it. Deterministic for a seed."""
    from geo.admin import AdminAreas

    rng = np.random.default_rng(seed)
    towns = cities()
    lanes = [
        c
        for c in corridors()
        if c.destination in towns and (not destinations or c.destination in destinations)
    ]
    stock = np.array([c.stock for c in lanes], dtype=float)
    lane = rng.choice(len(lanes), size=n, p=stock / stock.sum())
    origin = np.array([c.origin for c in lanes], dtype=object)[lane]
    dest = np.array([c.destination for c in lanes], dtype=object)[lane]
    female_share = np.array([c.female_share for c in lanes])[lane]
    areas = AdminAreas.load()
    lat = np.empty(n)
    lon = np.empty(n)
    for country in np.unique(dest):
        rows = np.flatnonzero(dest == country)
        cs = _cities_inside(areas, str(country), towns[str(country)])
        pops = np.array([c.population for c in cs], dtype=float)
        pick = rng.choice(len(cs), size=len(rows), p=pops / pops.sum())
        lat[rows] = np.array([c.lat for c in cs])[pick]
        lon[rows] = np.array([c.lon for c in cs])[pick]
    centre_lat, centre_lon = lat.copy(), lon.copy()
    # A point that falls at sea or across a border is drawn again, then put back on its city:
    # a Malaysian working in Singapore lives in Singapore, not in Johor Bahru across the strait.
    astray = np.arange(n)
    for attempt in range(_SCATTER_TRIES + 1):
        if attempt == _SCATTER_TRIES:
            lat[astray], lon[astray] = centre_lat[astray], centre_lon[astray]
            break
        m = len(astray)
        lat[astray] = np.clip(
            centre_lat[astray] + rng.normal(0.0, spread_km, m) / 111.32, -89.9, 89.9
        )
        lon[astray] = centre_lon[astray] + rng.normal(0.0, spread_km, m) / (
            111.32 * np.maximum(np.cos(np.radians(centre_lat[astray])), 0.2)
        )
        lon[astray] = (lon[astray] + 180.0) % 360.0 - 180.0
        astray = astray[~_lands_in(areas, lon[astray], lat[astray], dest[astray])]
        if not len(astray):
            break
    sex = np.where(rng.random(n) < female_share, "F", "M").astype(object)
    sector = np.empty(n, dtype=object)
    for s_, probs in _SECTOR_P.items():
        rows = np.flatnonzero(sex == s_)
        sector[rows] = np.array(_SECTORS, dtype=object)[
            rng.choice(len(_SECTORS), size=len(rows), p=probs)
        ]
    return SyntheticRegister(
        nationality=origin,
        destination=dest,
        lat=np.round(lat, 5),
        lon=np.round(lon, 5),
        sex=sex,
        sector=sector,
        family=rng.poisson(0.4, n),
        vulnerable=rng.random(n) < 0.05,
    )


def synthetic_rows(
    n: int, *, seed: int = 7, destinations: set[str] | None = None, spread_km: float = 6.0
) -> Iterator[dict[str, str]]:
    """``n`` registrations as import rows (the bulk CSV columns), deterministic for a seed: the
    same order as ``synthetic_register`` with the same arguments."""
    reg = synthetic_register(n, seed=seed, destinations=destinations, spread_km=spread_km)
    rng = np.random.default_rng(seed + 1)
    # Names of the worker's nationality; the phone a local SIM of the country they work in,
    # which is the number a crisis team can reach there (see data/SOURCES.md).
    tables, plans = names(), mobile_plans()
    for i in range(n):
        origin = str(reg.nationality[i])
        sex = str(reg.sex[i])
        vulnerable = [v for v in _VULNERABILITIES if rng.random() < 0.015]
        if sex == "M" and "pregnant" in vulnerable:
            vulnerable.remove("pregnant")
        age = int(rng.integers(19, 58))
        named = tables[origin]
        yield {
            "nationality": origin,
            "given_name": _pick(rng, named.given[sex]),
            "family_name": _pick(rng, named.family),
            "sex": sex,
            "birth_date": f"{2026 - age}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}",
            "document_number": f"{origin[:1]}{seed:02d}{i:08d}",
            "phone": mobile_number(rng, plans[str(reg.destination[i])]),
            "languages": _LANGUAGE.get(origin, "en"),
            "sector": str(reg.sector[i]),
            "employer": "",
            "lat": f"{reg.lat[i]:.5f}",
            "lon": f"{reg.lon[i]:.5f}",
            "accompanying_family": str(int(reg.family[i])),
            "vulnerabilities": ";".join(vulnerable),
            "share_with_humanitarian": "true" if rng.random() < 0.6 else "false",
            "share_with_embassy": "true" if rng.random() < 0.95 else "false",
            "legal_basis": "vital_interest",
            "source": "ministry_import",
        }


def synthetic_csv(n: int, **kwargs: object) -> bytes:
    """The same rows as a CSV file, as the import endpoint takes it."""
    import io

    rows = synthetic_rows(n, **kwargs)  # type: ignore[arg-type]
    first = next(rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(first))
    writer.writeheader()
    writer.writerow(first)
    writer.writerows(rows)
    return out.getvalue().encode()
