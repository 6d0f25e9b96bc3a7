"""``/api/v1/workers`` and ``/api/v1/populations``: the register."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, Response, UploadFile, status

from service.audit.service import record
from service.countries import CountryCode
from service.deps import IfMatch, SessionDep, send_etag
from service.flows import erasure
from service.openapi import problems
from service.pagination import CursorParam, FilterText, LimitParam, Page
from service.registry import access, bulk, populations, service
from service.registry.bulk import MAX_IMPORT_BYTES
from service.registry.dependencies import (
    LocatorDep,
    PopulationReader,
    PopulationWriter,
    ProtectorDep,
    Reader,
    Writer,
    rate_limit,
)
from service.registry.schemas import (
    OWN_COUNTRY_DESCRIPTION,
    ImportResult,
    OwnCountry,
    PeoplePage,
    PopulationCreate,
    PopulationPublic,
    WorkerCreate,
    WorkerCreated,
    WorkerPublic,
    WorkerUpdate,
)
from service.registry.unseen import Unseen

router = APIRouter(tags=["register"])


@router.post("/workers", status_code=status.HTTP_201_CREATED, response_model=WorkerCreated)
async def register_worker(
    data: WorkerCreate,
    session: SessionDep,
    actor: Writer,
    protect: ProtectorDep,
    locate: LocatorDep,
) -> WorkerCreated:
    worker = await service.register_worker(
        session, actor=actor, protector=protect, locator=locate, data=data
    )
    seen = access.visible_fields(actor, worker) is not None
    erasable = access.may_erase(actor, worker)
    why = access.why_unseen(actor, worker)
    if why is None:
        visibility = "You can read this record, within your role's fields."
    else:
        visibility = (
            f"You will not be able to read this record: {why}. It counts in aggregates. "
            + (
                "As its registrant you may still erase it (DELETE) until someone else changes it."
                if erasable
                else "You cannot erase it."
            )
        )
    return WorkerCreated(
        id=worker.id,
        country=worker.country,
        admin1=worker.admin1,
        location_flag=worker.location_flag,
        visible_to_you=seen,
        erasable_by_you=erasable,
        visibility=visibility,
    )


@router.post("/workers/import", response_model=ImportResult)
async def import_workers(
    session: SessionDep,
    actor: Writer,
    protect: ProtectorDep,
    locate: LocatorDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8, header row) or XLSX")],
) -> ImportResult:
    content = bulk.within_limit(await file.read(MAX_IMPORT_BYTES + 1))
    report = await bulk.import_workers(
        session,
        actor=actor,
        protector=protect,
        locator=locate,
        content=content,
        filename=file.filename or "",
    )
    return ImportResult.model_validate(report, from_attributes=True)


@router.get("/workers", response_model=PeoplePage, responses=problems(429))
async def list_workers(
    request: Request,
    session: SessionDep,
    actor: Reader,
    protect: ProtectorDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    nationality: CountryCode | None = None,
    country: CountryCode | None = None,
    admin1: FilterText = None,
    nationals_in_own_country: Annotated[
        OwnCountry,
        Query(description=OWN_COUNTRY_DESCRIPTION + " (here the default is `include`)"),
    ] = "include",
) -> PeoplePage:
    """The workers whose personal data you may read, oldest registration first, with how many
    more match your filters within your scope and are not shown, and why."""
    rate_limit(request, actor)
    page = await service.list_workers(
        session,
        actor=actor,
        limit=limit,
        cursor=cursor,
        nationality=nationality,
        country=country,
        admin1=admin1,
        own_country=nationals_in_own_country,
    )
    counted = Unseen()
    await counted.add(
        session,
        actor,
        service.list_filters(nationality, country, admin1, nationals_in_own_country),
    )
    items = []
    for worker in page.items:
        fields = access.visible_fields(actor, worker)
        assert fields is not None  # the query applied the same rule
        items.append(WorkerPublic.model_validate(service.present(worker, fields, protect)))
    record(
        session,
        actor=actor,
        action="worker.list",
        subject_type="worker",
        detail={"ids": [w.id for w in page.items]},
    )
    return PeoplePage(
        items=items,
        next_cursor=page.next_cursor,
        **counted.explained(
            actor, threshold=request.app.state.settings.suppress_below, where="in the register"
        ).fields(),
    )


@router.get("/workers/{id}", response_model=WorkerPublic)
async def get_worker(
    id: str,
    session: SessionDep,
    actor: Reader,
    protect: ProtectorDep,
    response: Response,
) -> WorkerPublic:
    worker, fields = await service.get_worker(session, actor=actor, worker_id=id)
    send_etag(response, worker.version)
    service.record_read(session, actor=actor, worker=worker, fields=fields)
    return WorkerPublic.model_validate(service.present(worker, fields, protect))


@router.patch("/workers/{id}", response_model=WorkerPublic)
async def update_worker(
    id: str,
    data: WorkerUpdate,
    session: SessionDep,
    actor: Writer,
    protect: ProtectorDep,
    locate: LocatorDep,
    response: Response,
    version: IfMatch,
) -> WorkerPublic:
    worker, fields = await service.update_worker(
        session,
        actor=actor,
        protector=protect,
        locator=locate,
        worker_id=id,
        data=data,
        if_match=version,
    )
    send_etag(response, worker.version)
    return WorkerPublic.model_validate(service.present(worker, fields, protect))


@router.delete("/workers/{id}", status_code=status.HTTP_204_NO_CONTENT)
async def erase_worker(id: str, session: SessionDep, actor: Writer) -> Response:
    """Erase the worker's personal data; an anonymous count remains. A consular post may erase
    a record it registered and cannot read, until someone else changes it (the receipt of the
    registration says so in ``erasable_by_you``)."""
    await erasure.erase_worker(session, actor=actor, worker_id=id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/populations",
    status_code=status.HTTP_201_CREATED,
    response_model=PopulationPublic,
    responses={200: {"description": "The same group was already recorded"}},
)
async def create_population(
    data: PopulationCreate,
    request: Request,
    session: SessionDep,
    actor: PopulationWriter,
    locate: LocatorDep,
    response: Response,
) -> dict[str, Any]:
    group, created = await populations.create_group(
        session,
        actor=actor,
        locator=locate,
        data=data,
        budget=request.app.state.geometry.budget(),
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return populations.public(group)


@router.get("/populations", response_model=Page[PopulationPublic])
async def list_populations(
    session: SessionDep,
    actor: PopulationReader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    nationality: CountryCode | None = None,
    country: CountryCode | None = None,
) -> Page[PopulationPublic]:
    page = await populations.list_groups(
        session, limit=limit, cursor=cursor, nationality=nationality, country=country
    )
    items = [PopulationPublic.model_validate(populations.public(g)) for g in page.items]
    return Page[PopulationPublic](items=items, next_cursor=page.next_cursor)
