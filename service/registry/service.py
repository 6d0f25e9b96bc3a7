"""Register use cases: register, read, correct and erase workers; population groups."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from geo.admin import AdminAreas
from service.audit.service import record
from service.auth.principal import Principal
from service.crypto import SealBroken
from service.db import utcnow
from service.errors import Conflict, Forbidden, InvalidInput, PreconditionFailed
from service.lookups import not_found
from service.pagination import Page, paginate
from service.registry import access
from service.registry.locate import Locator, Placed
from service.registry.models import RegisterChange, Worker, default_source
from service.registry.protect import Protector
from service.registry.rows import Clean, RowMaker
from service.registry.schemas import WorkerCreate, WorkerUpdate

log = logging.getLogger("lifeline.registry")


def check_place(
    found: Placed,
    *,
    lat: float,
    lon: float,
    country: str | None,
    accept_flagged: bool,
    loc: tuple[str | int, ...] = ("body", "location"),
) -> tuple[str | None, str | None, str | None]:
    """(country, admin1, flag) for a located point; refuse a doubtful one unless told to accept."""
    if found.doubtful and not accept_flagged:
        raise InvalidInput(
            f"The location {lat}, {lon} looks wrong: {found.explain()}. Correct it, or send "
            "accept_flagged_location: true to register it as it is, flagged",
            errors=[{"loc": list(loc), "msg": found.explain()}],
        )
    if country and found.country and country != found.country:
        raise InvalidInput(
            f"The location {lat}, {lon} lies in {found.country}, not in {country}",
            errors=[{"loc": [*loc[:-1], "country"], "msg": f"location lies in {found.country}"}],
        )
    return found.country or country, found.admin1, found.flag


def place(
    locator: Locator,
    *,
    lat: float,
    lon: float,
    country: str | None,
    accept_flagged: bool,
    loc: tuple[str | int, ...] = ("body", "location"),
) -> tuple[str | None, str | None, str | None]:
    """Locate one point and check it (see ``check_place``)."""
    found = locator.locate(lon=lon, lat=lat)
    return check_place(
        found, lat=lat, lon=lon, country=country, accept_flagged=accept_flagged, loc=loc
    )


def worker_values(
    data: WorkerCreate,
    *,
    protector: Protector,
    country: str | None,
    admin1: str | None,
    flag: str | None,
    registered_by: str | None,
    worker_id: str | None = None,
    companies: Mapping[str, tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The column values of a worker row from a validated registration, personal fields sealed
    (the same ``RowMaker`` as the bulk import's)."""
    maker = RowMaker(protector, registered_by=registered_by, companies=companies, now=utcnow())
    return maker.values(
        Clean.of(data), country=country, admin1=admin1, flag=flag, record_id=worker_id
    )


async def company_directory(session: AsyncSession) -> dict[str, tuple[str, str]]:
    """Employers and recruitment agencies of the directory, by slug and by name (case-folded)."""
    from service.directory.models import Organization

    rows = (
        await session.exec(
            select(Organization).where(
                col(Organization.kind).in_(["employer", "recruitment_agency"])
            )
        )
    ).all()
    out: dict[str, tuple[str, str]] = {}
    for org in rows:
        out[org.slug.casefold()] = (org.id, org.kind)
        out.setdefault(org.name.strip().casefold(), (org.id, org.kind))
    return out


def build_worker(data: WorkerCreate, **kwargs: Any) -> Worker:
    """A new Worker row (ORM) from a validated registration; see ``worker_values``."""
    return Worker(**worker_values(data, **kwargs))


def changed(session: AsyncSession, worker: Worker) -> None:
    """Tell every API process's exposure index that this worker changed."""
    assert worker.pk is not None
    session.add(RegisterChange(worker_pk=worker.pk))


async def find_by_identity(session: AsyncSession, identity_hash: str) -> Worker | None:
    query = select(Worker).where(Worker.identity_hash == identity_hash)
    return (await session.exec(query)).first()


async def register_worker(
    session: AsyncSession,
    *,
    actor: Principal,
    protector: Protector,
    locator: Locator,
    data: WorkerCreate,
) -> Worker:
    """Register one worker. The same person twice (same document number and nationality, or
    without one the same names and birth date) is a 409; a registration that identifies nobody
    is always a new record (a retry is made safe by an ``Idempotency-Key``). Without a
    ``source``, the one of the registering organisation's kind (``models.default_source``)."""
    if data.source is None:
        data = data.model_copy(update={"source": default_source(actor.organization_kind)})
    country, admin1, flag = place(
        locator,
        lat=data.location.lat,
        lon=data.location.lon,
        country=data.country,
        accept_flagged=data.accept_flagged_location,
    )
    if not access.may_register(actor, nationality=data.nationality, country=country):
        raise Forbidden(
            f"Your organisation may not register a worker of {data.nationality} in {country}"
        )
    if data.documentation_status and not access.sees_documentation_status(
        actor, nationality=data.nationality, country=country
    ):
        raise Forbidden(
            "Only the worker's own country's consular officers may record documentation_status"
        )
    worker = build_worker(
        data,
        protector=protector,
        country=country,
        admin1=admin1,
        flag=flag,
        registered_by=actor.organization_id,
        companies=await company_directory(session)
        if data.employer or data.recruitment_agency
        else None,
    )
    if worker.identity_hash and (existing := await find_by_identity(session, worker.identity_hash)):
        raise Conflict(
            "This worker is already registered ("
            + (
                "same document number and nationality"
                if data.document_number
                else "same names, birth date and nationality"
            )
            + ")",
            extra={"existing_id": existing.id if access.visible_fields(actor, existing) else None},
        )
    session.add(worker)
    await session.flush()
    changed(session, worker)
    record(
        session,
        actor=actor,
        action="worker.create",
        subject_type="worker",
        subject_id=worker.id,
        detail={"nationality": worker.nationality, "country": worker.country},
    )
    return worker


async def get_worker(
    session: AsyncSession, *, actor: Principal, worker_id: str
) -> tuple[Worker, frozenset[str]]:
    """The worker and the fields the caller may read; 404 when the caller may not know it exists."""
    worker = (await session.exec(select(Worker).where(Worker.id == worker_id))).first()
    fields = access.visible_fields(actor, worker) if worker is not None else None
    if worker is None or fields is None:
        raise not_found("worker", worker_id)
    return worker, fields


#: The sealed fields a read names in the audit trail.
SEALED_READ = (
    "given_name",
    "family_name",
    "document_number",
    "phone",
    "birth_date",
    "documentation_status",
)


def record_read(
    session: AsyncSession, *, actor: Principal, worker: Worker, fields: frozenset[str]
) -> None:
    """Audit the opening of one record, naming the sealed fields it showed."""
    record(
        session,
        actor=actor,
        action="worker.read",
        subject_type="worker",
        subject_id=worker.id,
        detail={"fields": sorted(fields & set(SEALED_READ))},
    )


#: The fields ``present`` copies as they are stored.
_PLAIN = (
    "sex", "sector", "languages", "employer", "country", "admin1", "location_flag",
    "accompanying_family", "vulnerabilities", "international_protection", "legal_basis",
    "source", "verified", "stay_registered", "created_at", "updated_at", "registered_by",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Plan:
    plain: tuple[str, ...]
    sealed: tuple[str, ...]
    admin1: bool
    location: bool
    consent: bool


@lru_cache(maxsize=64)
def _plan(fields: frozenset[str]) -> _Plan:
    """What ``present`` writes for ``fields``: worked out once per set (a list presents
    thousands of workers with the same few sets)."""
    return _Plan(
        plain=tuple(n for n in _PLAIN if n in fields),
        sealed=tuple(n for n in SEALED_READ if n in fields),
        admin1="admin1" in fields,
        location="location" in fields,
        consent="consent" in fields,
    )


def present(worker: Worker, fields: frozenset[str], protector: Protector) -> dict[str, Any]:
    """The worker as the caller may see it."""
    plan = _plan(fields)
    out: dict[str, Any] = {
        "id": worker.id,
        "nationality": worker.nationality,
        "version": worker.version,
    }
    for name in plan.plain:
        out[name] = getattr(worker, name)
    if plan.admin1:
        out["admin1_name"] = AdminAreas.load().admin1_name(worker.admin1)
    if plan.location and worker.lat is not None and worker.lon is not None:
        out["location"] = {"lat": worker.lat, "lon": worker.lon}
    if plan.consent:
        out["consent"] = {
            "share_with_embassy": worker.consent_embassy,
            "share_with_humanitarian": worker.consent_humanitarian,
        }
    for name in plan.sealed:
        try:
            out[name] = protector.open(worker, name)
        except SealBroken:
            # One unreadable record (a lost key, tampering) must not hide all the others.
            log.error("sealed field unreadable", extra={"worker": worker.id, "field": name})
            out[name] = None
            out["unreadable"] = sorted({*out.get("unreadable", []), name})
    return out


async def list_workers(
    session: AsyncSession,
    *,
    actor: Principal,
    limit: int,
    cursor: str | None,
    nationality: str | None = None,
    country: str | None = None,
    admin1: str | None = None,
    own_country: str = "include",
    pks: Sequence[int] | None = None,
) -> Page[Worker]:
    """The workers the actor may read, oldest registration first."""
    query = (
        select(Worker)
        .where(access.visibility_clause(actor))
        .where(*list_filters(nationality, country, admin1, own_country))
    )
    if pks is not None:
        query = query.where(col(Worker.pk).in_(list(pks)))
    return await paginate(session, query, key=[col(Worker.pk)], limit=limit, cursor=cursor)


def list_filters(
    nationality: str | None, country: str | None, admin1: str | None, own_country: str
) -> list[ColumnElement[bool]]:
    """The conditions of the register's list filters (``own_country`` as in
    ``geo.exposure.OWN_COUNTRY_CHOICES``: a worker located in their own country of nationality)."""
    where: list[ColumnElement[bool]] = []
    if nationality is not None:
        where.append(col(Worker.nationality) == nationality)
    if country is not None:
        where.append(col(Worker.country) == country)
    if admin1 is not None:
        where.append(col(Worker.admin1) == admin1)
    at_home = col(Worker.country) == col(Worker.nationality)
    if own_country == "only":
        where.append(at_home)
    elif own_country == "exclude":
        where.append(or_(col(Worker.country).is_(None), ~at_home))
    return where


async def update_worker(
    session: AsyncSession,
    *,
    actor: Principal,
    protector: Protector,
    locator: Locator,
    worker_id: str,
    data: WorkerUpdate,
    if_match: int,
) -> tuple[Worker, frozenset[str]]:
    worker, fields = await get_worker(session, actor=actor, worker_id=worker_id)
    if if_match != worker.version:
        raise PreconditionFailed(
            f"The worker changed since version {if_match}; read it again "
            f"(now version {worker.version})",
            extra={"current_version": worker.version},
        )
    changes = data.model_dump(exclude_unset=True, exclude={"accept_flagged_location"})
    denied = {k for k in changes if k not in fields and k != "documentation_status"}
    if "documentation_status" in changes and not access.sees_documentation_status(
        actor, nationality=worker.nationality, country=worker.country
    ):
        denied.add("documentation_status")
    if denied:
        raise Forbidden(f"You may not change {', '.join(sorted(denied))} of this worker")
    if data.location is not None:
        worker.country, worker.admin1, worker.location_flag = place(
            locator,
            lat=data.location.lat,
            lon=data.location.lon,
            country=None,
            accept_flagged=data.accept_flagged_location,
        )
        worker.lat, worker.lon = data.location.lat, data.location.lon
    for name in ("sector", "employer", "accompanying_family", "verified", "stay_registered"):
        if name in changes:
            setattr(worker, name, changes[name])
    if "languages" in changes:
        worker.languages = sorted(set(changes["languages"] or []))
    if "vulnerabilities" in changes:
        worker.vulnerabilities = sorted({str(v) for v in changes["vulnerabilities"] or []})
        worker.vulnerable = bool(worker.vulnerabilities)
    if data.consent is not None:
        worker.consent_embassy = data.consent.share_with_embassy
        worker.consent_humanitarian = data.consent.share_with_humanitarian
    sealed: dict[str, str | None] = {
        k: changes[k]
        for k in ("given_name", "family_name", "phone", "documentation_status")
        if k in changes
    }
    if sealed:
        protector.seal_into(worker, sealed)
    if "phone" in changes or data.location is not None:
        worker.phone_hash = protector.phone_hash(
            protector.open(worker, "phone"), country=worker.country, nationality=worker.nationality
        )
    worker.version += 1
    worker.updated_at = utcnow()
    session.add(worker)
    await session.flush()
    changed(session, worker)
    record(
        session,
        actor=actor,
        action="worker.update",
        subject_type="worker",
        subject_id=worker.id,
        detail={"fields": sorted(changes)},
    )
    return worker, fields


def erase_fields(worker: Worker) -> None:
    """Drop everything personal; what remains is an anonymous count."""
    for name in (
        "given_name",
        "family_name",
        "birth_date",
        "document_number",
        "phone",
        "documentation_status",
    ):
        setattr(worker, f"{name}_sealed", None)
    worker.identity_hash = worker.content_hash = worker.phone_hash = None
    worker.languages, worker.vulnerabilities, worker.vulnerable = [], [], False
    worker.employer = worker.lat = worker.lon = worker.location_flag = None
    worker.accompanying_family = 0
    worker.erased_at = utcnow()
    worker.version += 1
    worker.updated_at = utcnow()


async def erase_worker(session: AsyncSession, *, actor: Principal, worker_id: str) -> Worker:
    """Erase personal data; keep nationality, country, admin1, sector, sex: an anonymous count."""
    worker = (await session.exec(select(Worker).where(Worker.id == worker_id))).first()
    if worker is None or (
        access.visible_fields(actor, worker) is None and not access.may_erase_unseen(actor, worker)
    ):
        raise not_found("worker", worker_id)
    if not access.may_erase(actor, worker):
        raise Forbidden("Only an admin or the worker's consular officers may erase a record")
    unseen = access.visible_fields(actor, worker) is None
    erase_fields(worker)
    session.add(worker)
    await session.flush()
    changed(session, worker)
    record(
        session,
        actor=actor,
        action="worker.erase",
        subject_type="worker",
        subject_id=worker.id,
        detail={"as": "registrant"} if unseen else None,
    )
    return worker


def birth_date_of(worker: Worker, protector: Protector) -> date | None:
    raw = protector.open(worker, "birth_date")
    return date.fromisoformat(raw) if raw else None
