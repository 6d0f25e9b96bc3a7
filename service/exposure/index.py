"""The process's exposure index over the register, built at start and kept current by following
the register's change feed, so that every API process agrees within seconds."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from geo.exposure import ExposureIndex
from service.exposure.loader import CATEGORIES, RegisterColumns, load_register

log = logging.getLogger("lifeline.exposure")
_BATCH = 20_000
_CHANGES = "SELECT seq, worker_pk FROM register_changes WHERE seq > :s ORDER BY seq LIMIT :n"


def _arrays(cols: RegisterColumns) -> dict[str, object]:
    f = cols.frame
    return {
        "pk": f["pk"].to_numpy(),
        "lon": f["lon"].to_numpy(),
        "lat": f["lat"].to_numpy(),
        "attributes": {
            a: f[a].array  # categorical: codes and categories, no string per row
            for a in CATEGORIES
        },
        "family": f["accompanying_family"].to_numpy(),
        "vulnerable": f["vulnerable"].to_numpy(),
    }


class RegisterIndex:
    """An ``ExposureIndex`` over the live, located workers of the database."""

    def __init__(self, engine: AsyncEngine, *, cell_deg: float = 0.05) -> None:
        self.engine = engine
        self.cell_deg = cell_deg
        self.index = ExposureIndex(cell_deg=cell_deg)
        self.last_seq = 0
        self.ready = asyncio.Event()
        self.built_in_s: float | None = None
        #: When (Unix time) the index last knew itself current: built, or a refresh that found
        #: no more changes. ``/metrics`` shows it, so that a stalled follower is seen.
        self.current_at: float | None = None
        self._refresh_lock = asyncio.Lock()

    async def _max_seq(self) -> int:
        async with self.engine.connect() as conn:
            value = (
                await conn.execute(text("SELECT COALESCE(MAX(seq), 0) FROM register_changes"))
            ).scalar_one()
        return int(value)

    async def build(self) -> None:
        """Load the whole register. Changes made meanwhile are replayed by the next refresh."""
        started = time.perf_counter()
        seq = await self._max_seq()  # read first: a change after this is replayed, never lost
        cols = await load_register(self.engine)
        arrays = _arrays(cols)
        self.index = await asyncio.to_thread(
            lambda: ExposureIndex.from_arrays(cell_deg=self.cell_deg, **arrays)  # type: ignore[arg-type]
        )
        self.last_seq = seq
        self.built_in_s = time.perf_counter() - started
        self.current_at = time.time()
        self.ready.set()
        log.info(
            "exposure index built",
            extra={"workers": len(cols), "seconds": round(self.built_in_s, 2)},
        )

    async def refresh(self) -> int:
        """Apply the changes since the last refresh; return how many workers changed."""
        async with self._refresh_lock:
            changed = 0
            while True:
                async with self.engine.connect() as conn:
                    rows = (
                        await conn.execute(
                            text(_CHANGES),
                            {"s": self.last_seq, "n": _BATCH},
                        )
                    ).all()
                if not rows:
                    self.current_at = time.time()
                    return changed
                pks = sorted({int(r[1]) for r in rows})
                cols = await load_register(self.engine, pks=pks)
                present = set(cols.frame["pk"].tolist())
                gone = [p for p in pks if p not in present]
                if gone:
                    self.index.remove(gone)
                if len(cols):
                    self.index.upsert(**_arrays(cols))  # type: ignore[arg-type]
                self.last_seq = int(rows[-1][0])
                changed += len(pks)

    async def follow(self, interval_s: float) -> None:
        """Refresh forever; a failed refresh is logged and retried, never fatal."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.refresh()
            except Exception:  # the database may be briefly away; try again next tick
                log.exception("exposure index refresh failed")
