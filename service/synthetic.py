"""A realistic synthetic register: workers placed around real cities in proportion to real
corridor stocks, with plausible sectors, sexes, families and vulnerabilities. For the demo,
tests and benchmarks; never real people."""

from __future__ import annotations

import csv
import math
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


def synthetic_rows(
    n: int, *, seed: int = 7, destinations: set[str] | None = None, spread_km: float = 6.0
) -> Iterator[dict[str, str]]:
    """``n`` registrations as import rows (the bulk CSV columns), deterministic for a seed.

    Workers are spread around cities with a normal scatter of ``spread_km`` (in km, converted
    per latitude), so that dense cities stay dense and nobody is placed in the sea far offshore.
    """
    rng = np.random.default_rng(seed)
    towns = cities()
    lanes = [
        c
        for c in corridors()
        if c.destination in towns and (not destinations or c.destination in destinations)
    ]
    weights = np.array([c.stock for c in lanes], dtype=float)
    picks = rng.choice(len(lanes), size=n, p=weights / weights.sum())
    per_country = {
        country: (np.array([c.population for c in cs], dtype=float), cs)
        for country, cs in towns.items()
    }
    for i, lane_index in enumerate(picks):
        lane = lanes[int(lane_index)]
        pops, cs = per_country[lane.destination]
        city = cs[int(rng.choice(len(cs), p=pops / pops.sum()))]
        sex = "F" if rng.random() < lane.female_share else "M"
        sector = _SECTORS[int(rng.choice(len(_SECTORS), p=_SECTOR_P[sex]))]
        dy = rng.normal(0.0, spread_km) / 111.32
        dx = rng.normal(0.0, spread_km) / (111.32 * max(math.cos(math.radians(city.lat)), 0.2))
        vulnerable = [v for v in _VULNERABILITIES if rng.random() < 0.015]
        if sex == "M" and "pregnant" in vulnerable:
            vulnerable.remove("pregnant")
        age = int(rng.integers(19, 58))
        yield {
            "nationality": lane.origin,
            "given_name": _GIVEN[int(rng.integers(len(_GIVEN)))],
            "family_name": _FAMILY[int(rng.integers(len(_FAMILY)))],
            "sex": sex,
            "birth_date": f"{2026 - age}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}",
            "document_number": f"{lane.origin[:1]}{seed:02d}{i:08d}",
            "phone": f"+{int(rng.integers(10**9, 10**10))}",
            "languages": _LANGUAGE.get(lane.origin, "en"),
            "sector": sector,
            "employer": "",
            "lat": f"{city.lat + dy:.5f}",
            "lon": f"{city.lon + dx:.5f}",
            "accompanying_family": str(int(rng.poisson(0.4))),
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
