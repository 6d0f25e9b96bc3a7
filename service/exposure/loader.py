"""Reading the register's locations and attributes in bulk, fast, for the in-memory index."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

#: Live, located workers: what the exposure index holds. No personal data leaves the database.
COLUMNS = (
    "pk",
    "lon",
    "lat",
    "nationality",
    "country",
    "admin1",
    "sector",
    "sex",
    "employer",
    "agency",
    "accompanying_family",
    "vulnerable",
)
CATEGORIES = ("nationality", "country", "admin1", "sector", "sex", "employer", "agency")
_SELECT = (
    "SELECT pk, lon, lat, nationality, country, admin1, sector, sex, "
    "employer_org_id AS employer, agency_org_id AS agency, accompanying_family, "
    "CAST(vulnerable AS INTEGER) AS vulnerable FROM workers "
    "WHERE erased_at IS NULL AND lat IS NOT NULL AND lon IS NOT NULL"
)


@dataclass(frozen=True, slots=True)
class RegisterColumns:
    """The register as columns: one row per located, live worker."""

    frame: pd.DataFrame

    def __len__(self) -> int:
        return len(self.frame)


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reindex(columns=list(COLUMNS))
    frame["pk"] = frame["pk"].astype(np.int64)
    frame["lon"] = frame["lon"].astype(np.float64)
    frame["lat"] = frame["lat"].astype(np.float64)
    for name in CATEGORIES:
        if not isinstance(frame[name].dtype, pd.CategoricalDtype):
            frame[name] = frame[name].fillna("").astype(str).astype("category")
    frame["accompanying_family"] = frame["accompanying_family"].fillna(0).astype(np.int64)
    frame["vulnerable"] = frame["vulnerable"].fillna(0).astype(bool)
    return frame


async def load_register(engine: AsyncEngine, *, pks: list[int] | None = None) -> RegisterColumns:
    """All live located workers (or those of ``pks``, which may include dead ones: absent then)."""
    query = _SELECT
    if pks is not None:
        if not pks:
            return RegisterColumns(_normalise(pd.DataFrame(columns=list(COLUMNS))))
        query += " AND pk IN (" + ",".join(str(int(p)) for p in pks) + ")"
    if engine.dialect.name == "postgresql":
        return RegisterColumns(_normalise(await _copy_postgres(engine, query)))
    async with engine.connect() as conn:
        result = await conn.execute(text(query))
        rows = result.all()
    return RegisterColumns(_normalise(pd.DataFrame(rows, columns=list(COLUMNS))))


async def _copy_postgres(engine: AsyncEngine, query: str) -> pd.DataFrame:
    # COPY ... TO STDOUT in CSV, parsed by pandas' C reader: an order of magnitude faster than
    # fetching rows as Python tuples, which matters at tens of millions of rows.
    buffer = io.BytesIO()
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.copy_from_query(query, output=buffer, format="csv", header=True)
    buffer.seek(0)
    # Categories, not strings: ten million rows of five text columns would otherwise take
    # gigabytes for a moment, and the API process must stay small.
    return pd.read_csv(
        buffer,
        dtype=dict.fromkeys(CATEGORIES, "category"),
        keep_default_na=False,
    )
