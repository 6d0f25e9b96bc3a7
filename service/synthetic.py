"""A realistic synthetic register: workers placed around real cities in proportion to real
corridor stocks, with plausible sectors, sexes, families and vulnerabilities. For the demo,
tests and benchmarks; never real people."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

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
_GIVEN = (
    "Maria",
    "Ana",
    "Siti",
    "Nur",
    "Aye",
    "Thida",
    "Sokha",
    "Lan",
    "Rina",
    "Dewi",
    "Jose",
    "Juan",
    "Agus",
    "Budi",
    "Min",
    "Kyaw",
    "Rahim",
    "Karim",
    "Ram",
    "Hari",
    "Nimal",
    "Ali",
)
_FAMILY = (
    "Santos",
    "Reyes",
    "Cruz",
    "Wijaya",
    "Saputra",
    "Htun",
    "Win",
    "Chan",
    "Nguyen",
    "Tran",
    "Rahman",
    "Hossain",
    "Gurung",
    "Tamang",
    "Perera",
    "Silva",
    "Khan",
    "Kumar",
    "Sok",
)


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
    with resources.files("service.data").joinpath("corridors.csv").open(encoding="utf-8") as f:
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


def synthetic_register(
    n: int, *, seed: int = 7, destinations: set[str] | None = None, spread_km: float = 6.0
) -> SyntheticRegister:
    """``n`` workers: corridors drawn by migrant stock, cities by population, a normal scatter of
    ``spread_km`` around the city (points that would fall at sea are put back on the city), sex by
    the corridor's female share, sector by sex. Deterministic for a seed."""
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
    lat = np.empty(n)
    lon = np.empty(n)
    for country in np.unique(dest):
        rows = np.flatnonzero(dest == country)
        cs = towns[str(country)]
        pops = np.array([c.population for c in cs], dtype=float)
        pick = rng.choice(len(cs), size=len(rows), p=pops / pops.sum())
        lat[rows] = np.array([c.lat for c in cs])[pick]
        lon[rows] = np.array([c.lon for c in cs])[pick]
    centre_lat, centre_lon = lat.copy(), lon.copy()
    lat = np.clip(lat + rng.normal(0.0, spread_km, n) / 111.32, -89.9, 89.9)
    lon = lon + rng.normal(0.0, spread_km, n) / (
        111.32 * np.maximum(np.cos(np.radians(centre_lat)), 0.2)
    )
    lon = (lon + 180.0) % 360.0 - 180.0
    at_sea = np.zeros(n, dtype=bool)
    for start in range(0, n, 1_000_000):  # in chunks, to bound memory at tens of millions
        _, _, flags = AdminAreas.load().locate_many(
            lon[start : start + 1_000_000], lat[start : start + 1_000_000]
        )
        at_sea[start : start + len(flags)] = [f not in (None, "snapped") for f in flags]
    lat[at_sea], lon[at_sea] = centre_lat[at_sea], centre_lon[at_sea]
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
    """``n`` registrations as import rows (the bulk CSV columns), deterministic for a seed."""
    reg = synthetic_register(n, seed=seed, destinations=destinations, spread_km=spread_km)
    rng = np.random.default_rng(seed + 1)
    for i in range(n):
        origin = str(reg.nationality[i])
        sex = str(reg.sex[i])
        vulnerable = [v for v in _VULNERABILITIES if rng.random() < 0.015]
        if sex == "M" and "pregnant" in vulnerable:
            vulnerable.remove("pregnant")
        age = int(rng.integers(19, 58))
        yield {
            "nationality": origin,
            "given_name": _GIVEN[int(rng.integers(len(_GIVEN)))],
            "family_name": _FAMILY[int(rng.integers(len(_FAMILY)))],
            "sex": sex,
            "birth_date": f"{2026 - age}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}",
            "document_number": f"{origin[:1]}{seed:02d}{i:08d}",
            "phone": f"+{int(rng.integers(10**9, 10**10))}",
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
