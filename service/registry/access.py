"""Need-to-know: which workers' personal data a caller may read, and which fields.

The rules (DATA-PROTECTION.md):
- outsiders (host authorities, employers, recruitment agencies) and viewers get counts only;
- a consular officer reads their own ``represents`` nationality and their organisation's
  ``acts_for`` nationalities, located in the countries their post covers (the organisation's
  ``country`` and ``jurisdiction``: ``Principal.covers``), except workers who refused sharing with
  their embassy, and never a refugee or asylum seeker's record for the country of origin;
  elsewhere they see counts;
- ``documentation_status`` is readable only by the worker's own country's consular officers, in
  the countries their post covers;
- a society responder reads, in the society's country, only the records whose owners agreed to
  humanitarian sharing, and only the fields a task needs;
- a coordinator reads what their own organisation registered; an admin reads everything but the
  documentation status.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, not_
from sqlmodel import col

from service.auth.permissions import Role
from service.auth.principal import Principal
from service.directory.models import OrgKind
from service.registry.models import Worker

OUTSIDER_KINDS = frozenset({OrgKind.HOST_AUTHORITY, OrgKind.EMPLOYER, OrgKind.RECRUITMENT_AGENCY})

ALL_FIELDS = frozenset(
    {
        "nationality", "given_name", "family_name", "sex", "birth_date", "document_number",
        "phone", "languages", "sector", "employer", "location", "country", "admin1",
        "location_flag", "accompanying_family", "vulnerabilities", "international_protection",
        "consent", "legal_basis", "source", "verified", "stay_registered", "created_at",
        "updated_at", "registered_by",
    }
)  # fmt: skip
#: What a society responder needs for a task: reach the person, in their language, where they are.
HUMANITARIAN_FIELDS = frozenset(
    {"nationality", "given_name", "family_name", "phone", "languages", "location", "country",
     "admin1", "vulnerabilities", "accompanying_family"}
)  # fmt: skip


def is_outsider(principal: Principal) -> bool:
    return principal.organization_kind in OUTSIDER_KINDS


def visible_fields(principal: Principal, worker: Worker) -> frozenset[str] | None:
    """The personal fields ``principal`` may read of ``worker``; None: not even that it exists."""
    if worker.erased_at is not None or is_outsider(principal):
        return None
    role = principal.role
    if role is Role.ADMIN:
        return ALL_FIELDS
    if role is Role.CONSULAR_OFFICER:
        if not principal.serves(nationality=worker.nationality, country=worker.country):
            return None
        if not worker.consent_embassy:
            return None
        own_country = principal.represents == worker.nationality
        if worker.international_protection and own_country:
            return None
        if sees_documentation_status(
            principal, nationality=worker.nationality, country=worker.country
        ):
            return ALL_FIELDS | {"documentation_status"}
        return ALL_FIELDS
    if role is Role.SOCIETY_RESPONDER:
        if worker.consent_humanitarian and worker.country == principal.country:
            return HUMANITARIAN_FIELDS
        return None
    if role is Role.COORDINATOR:
        if worker.registered_by is not None and worker.registered_by == principal.organization_id:
            return ALL_FIELDS
        return None
    return None


def list_fields(principal: Principal) -> frozenset[str]:
    """The most a list may show ``principal`` of anyone (``visible_fields`` decides for each
    worker, and gives no more): the columns of their downloads."""
    if is_outsider(principal):
        return frozenset()
    if principal.role is Role.SOCIETY_RESPONDER:
        return HUMANITARIAN_FIELDS
    if principal.role in {Role.ADMIN, Role.CONSULAR_OFFICER, Role.COORDINATOR}:
        return ALL_FIELDS
    return frozenset()


def visibility_clause(principal: Principal) -> ColumnElement[bool]:
    """The same rule as ``visible_fields``, as a SQL condition for lists."""
    alive = col(Worker.erased_at).is_(None)
    if is_outsider(principal):
        return false()
    role = principal.role
    if role is Role.ADMIN:
        return alive
    if role is Role.CONSULAR_OFFICER:
        nationalities = sorted(principal.nationalities)
        covers = sorted(principal.covers)
        if not nationalities or not covers:
            return false()
        refugee_from_here = and_(
            col(Worker.international_protection).is_(True),
            col(Worker.nationality) == (principal.represents or ""),
        )
        return and_(
            alive,
            col(Worker.nationality).in_(nationalities),
            # NULL (a flagged location outside every country) is in no post's coverage.
            col(Worker.country).in_(covers),
            col(Worker.consent_embassy).is_(True),
            not_(refugee_from_here),
        )
    if role is Role.SOCIETY_RESPONDER:
        return and_(
            alive,
            col(Worker.consent_humanitarian).is_(True),
            col(Worker.country) == (principal.country or ""),
        )
    if role is Role.COORDINATOR:
        return and_(alive, col(Worker.registered_by) == (principal.organization_id or ""))
    return false()


def may_register(principal: Principal, *, nationality: str, country: str | None) -> bool:
    """Who may add a worker to the register."""
    if is_outsider(principal):
        return False
    if principal.role in {Role.ADMIN, Role.COORDINATOR}:
        return True
    if principal.role is Role.CONSULAR_OFFICER:
        # A post registers its people where it serves them; a point outside every country (at
        # sea, flagged) has no post, and the one who met the worker may record it.
        return nationality in principal.nationalities and (
            country is None or country in principal.covers
        )
    if principal.role is Role.SOCIETY_RESPONDER:
        return country is None or country == principal.country
    return False


def sees_documentation_status(
    principal: Principal, *, nationality: str, country: str | None
) -> bool:
    """The firewall: immigration status only for the worker's own country's consular officers,
    and only where their post covers (a worker registered at sea: the officer recording it)."""
    return (
        principal.role is Role.CONSULAR_OFFICER
        and principal.represents == nationality
        and not is_outsider(principal)
        and (country is None or country in principal.covers)
    )


def may_erase_unseen(principal: Principal, worker: Worker) -> bool:
    """A consular post may erase a record it registered and cannot read (the worker refused
    sharing with their embassy, or is under international protection), so that a worker who asks
    the officer who registered them to erase it is heard; only while no one else changed it
    since (version 1), so that a later correction or a re-registration elsewhere stands."""
    return (
        principal.role is Role.CONSULAR_OFFICER
        and not is_outsider(principal)
        and principal.organization_id is not None
        and worker.registered_by == principal.organization_id
        and worker.erased_at is None
        and worker.version == 1
    )


def may_erase(principal: Principal, worker: Worker) -> bool:
    """Erasure: an admin, whoever reads the whole record (its own country's consular officers, the
    registering coordinator), or the registering post that cannot read it (``may_erase_unseen``)."""
    fields = visible_fields(principal, worker)
    if fields is None:
        return may_erase_unseen(principal, worker)
    return fields is ALL_FIELDS or "documentation_status" in fields


def why_unseen(principal: Principal, worker: Worker) -> str | None:
    """Why ``principal`` cannot read ``worker`` (None when they can), in words for the receipt of
    a registration: the registrant is told at once, not by a 404 later."""
    if visible_fields(principal, worker) is not None:
        return None
    if principal.role is Role.CONSULAR_OFFICER and not is_outsider(principal):
        if not principal.serves(nationality=worker.nationality, country=worker.country):
            return "the worker is located outside the countries your post covers"
        if not worker.consent_embassy:
            return "the worker refused sharing with their embassy (share_with_embassy = false)"
        return "refugees and asylum seekers are never shown to their country of origin"
    if principal.role is Role.SOCIETY_RESPONDER:
        return "your society reads only workers in its country who agreed to humanitarian sharing"
    return "your role reads no personal data of this worker"
