"""Need-to-know: which workers' personal data a caller may read, and which fields.

The rules (DATA-PROTECTION.md):
- outsiders (host authorities, employers, recruitment agencies) and viewers get counts only;
- a consular officer reads their own ``represents`` nationality and their organisation's
  ``acts_for`` nationalities, except workers who refused sharing with their embassy, and never a
  refugee or asylum seeker's record for the country of origin;
- ``documentation_status`` is readable only by the worker's own country's consular officers;
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
        if worker.nationality not in principal.nationalities or not worker.consent_embassy:
            return None
        own_country = principal.represents == worker.nationality
        if worker.international_protection and own_country:
            return None
        return ALL_FIELDS | {"documentation_status"} if own_country else ALL_FIELDS
    if role is Role.SOCIETY_RESPONDER:
        if worker.consent_humanitarian and worker.country == principal.country:
            return HUMANITARIAN_FIELDS
        return None
    if role is Role.COORDINATOR:
        if worker.registered_by is not None and worker.registered_by == principal.organization_id:
            return ALL_FIELDS
        return None
    return None


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
        if not nationalities:
            return false()
        refugee_from_here = and_(
            col(Worker.international_protection).is_(True),
            col(Worker.nationality) == (principal.represents or ""),
        )
        return and_(
            alive,
            col(Worker.nationality).in_(nationalities),
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
        return nationality in principal.nationalities
    if principal.role is Role.SOCIETY_RESPONDER:
        return country is None or country == principal.country
    return False


def sees_documentation_status(principal: Principal, nationality: str) -> bool:
    return (
        principal.role is Role.CONSULAR_OFFICER
        and principal.represents == nationality
        and not is_outsider(principal)
    )
