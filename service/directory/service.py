"""Directory use cases."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.service import record
from service.auth.principal import Principal
from service.directory.models import Organization
from service.directory.schemas import OrganizationCreate
from service.errors import Conflict, NotFound
from service.pagination import Page, paginate


def _same(org: Organization, data: OrganizationCreate) -> bool:
    return (
        org.name == data.name
        and org.kind == data.kind.value
        and org.country == data.country
        and org.represents == data.represents
        and sorted(org.jurisdiction) == data.jurisdiction
        and sorted(org.acts_for) == data.acts_for
    )


async def create_organization(
    session: AsyncSession, *, actor: Principal, data: OrganizationCreate
) -> tuple[Organization, bool]:
    """Create an organisation; return it and whether it is new.

    The same organisation sent twice is not a new one: the second call returns the first.
    The same slug with different fields is a conflict.
    """
    existing = await get_by_slug(session, slug=data.slug)
    if existing is not None:
        if _same(existing, data):
            return existing, False
        raise Conflict(
            f"An organisation with slug {data.slug!r} exists with other values",
            extra={"existing_id": existing.id},
        )
    org = Organization(
        slug=data.slug,
        name=data.name,
        kind=data.kind.value,
        country=data.country,
        represents=data.represents,
        jurisdiction=data.jurisdiction,
        acts_for=data.acts_for,
    )
    session.add(org)
    await session.flush()
    record(
        session,
        actor=actor,
        action="organization.create",
        subject_type="organization",
        subject_id=org.id,
        detail={"slug": org.slug, "kind": org.kind},
    )
    return org, True


async def get_by_slug(session: AsyncSession, *, slug: str) -> Organization | None:
    return (await session.exec(select(Organization).where(Organization.slug == slug))).first()


async def get_organization(session: AsyncSession, *, ref: str) -> Organization:
    """By id or by slug."""
    org = await session.get(Organization, ref)
    if org is None:
        org = await get_by_slug(session, slug=ref)
    if org is None:
        raise NotFound(f"No organisation with id or slug {ref!r}")
    return org


async def list_organizations(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None = None,
    kind: str | None = None,
    country: str | None = None,
    represents: str | None = None,
) -> Page[Organization]:
    query = select(Organization)
    if kind is not None:
        query = query.where(Organization.kind == kind)
    if country is not None:
        query = query.where(Organization.country == country)
    if represents is not None:
        query = query.where(Organization.represents == represents)
    return await paginate(session, query, key=[col(Organization.id)], limit=limit, cursor=cursor)
