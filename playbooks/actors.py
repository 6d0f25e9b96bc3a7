"""Who fills a playbook role for a nationality in a host country: resolved against the directory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Organization:
    """A directory entry, as plain values."""

    id: str
    slug: str
    kind: str
    country: str
    represents: str | None = None
    jurisdiction: tuple[str, ...] = ()
    acts_for: tuple[str, ...] = ()


def resolve(
    role: str, *, nationality: str | None, host: str | None, directory: Sequence[Organization]
) -> Organization | None:
    """The organisation for ``role``, or None (a coverage gap).

    The embassy of a nationality in the host country is, in order: an embassy or consulate of that
    nationality sitting in the host country; one in the host country that ``acts_for`` the
    nationality (consular cooperation); one of that nationality whose ``jurisdiction`` covers the
    host country. Ties break by slug, so the answer never depends on the directory's order.
    """
    orgs = sorted(directory, key=lambda o: o.slug)
    missions = [o for o in orgs if o.kind in {"embassy", "consulate"}]
    if role == "embassy":
        if nationality is None or host is None:
            return None
        for found in (
            next(
                (
                    o
                    for o in missions
                    if o.represents == nationality and o.country == host and o.kind == "embassy"
                ),
                None,
            ),
            next((o for o in missions if o.represents == nationality and o.country == host), None),
            next((o for o in missions if o.country == host and nationality in o.acts_for), None),
            next(
                (o for o in missions if o.represents == nationality and host in o.jurisdiction),
                None,
            ),
        ):
            if found is not None:
                return found
        return None
    if role == "national_society_host":
        return next((o for o in orgs if o.kind == "national_society" and o.country == host), None)
    if role == "national_society_origin":
        return next(
            (o for o in orgs if o.kind == "national_society" and o.country == nationality), None
        )
    if role == "labour_ministry_origin":
        return next(
            (
                o
                for o in orgs
                if o.kind == "labour_ministry" and (o.represents or o.country) == nationality
            ),
            None,
        )
    if role == "host_authority":
        return next((o for o in orgs if o.kind == "host_authority" and o.country == host), None)
    if role in {"employer", "recruitment_agency", "international_org"}:
        return next(
            (o for o in orgs if o.kind == role and (o.country == host or host in o.jurisdiction)),
            None,
        )
    return None  # "coordinator": the coordinators, who are not one organisation
