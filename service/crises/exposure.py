"""A crisis's exposure as a caller may see it: the latest snapshot, exact or rounded by role.

The one reading of it, for ``GET /crises/{id}/exposure`` and the console's crisis page alike.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from geo.suppress import suppress, suppress_total
from service.auth.permissions import Role
from service.auth.principal import Principal
from service.crises import service
from service.errors import NotFound
from service.exposure.service import (
    OWN_NATIONALS_BASIS,
    SNAPSHOT_BASIS,
    admin1_names,
    rounded_basis,
    sees_exactly,
)
from service.registry.access import is_outsider


async def exposure_seen_by(
    session: AsyncSession, *, actor: Principal, crisis_id: str, threshold: int
) -> dict[str, Any]:
    """The latest exposure snapshot of the crisis's zone: exact for coordinators; for others,
    rounded with cells under ``threshold`` withheld (and, for consular staff, their own nationals
    exactly). 404 when the crisis has no zone yet."""
    taken = await service.latest_snapshot(session, crisis_id)
    if taken is None:
        raise NotFound("This crisis has no zone yet")
    counts = dict(taken.counts)
    base = {
        "crisis_id": crisis_id,
        "zone_version": taken.zone_version,
        "taken_at": taken.taken_at.isoformat(),
    }
    if sees_exactly(actor):
        names = admin1_names(counts.get("by_admin1", {}))
        return {**base, **counts, "admin1_names": names, "exact": True, "basis": SNAPSHOT_BASIS}
    out: dict[str, Any] = {**base, "exact": False, "suppressed_below": threshold}
    for name in ("by_nationality", "by_country", "by_admin1", "by_sector", "by_sex"):
        out[name] = suppress(counts.get(name, {}), threshold=threshold)
    for name in ("workers", "accompanying_family", "vulnerable", "nationals_in_own_country"):
        out[name] = suppress_total(int(counts.get(name, 0)), threshold=threshold)
    out["admin1_names"] = admin1_names(out["by_admin1"])
    out["basis"] = rounded_basis(threshold)
    if actor.role is Role.CONSULAR_OFFICER and not is_outsider(actor):
        out["own_nationals_basis"] = OWN_NATIONALS_BASIS
        # Exact only in the countries the post covers; elsewhere the suppressed counts above.
        out["own_nationals"] = {
            n: total
            for n, where in counts.get("by_nationality_country", {}).items()
            if n in actor.nationalities
            and (total := sum(c for country, c in where.items() if country in actor.covers))
        }
    return out
