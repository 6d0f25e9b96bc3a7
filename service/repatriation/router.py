"""`/api/v1/crises/{id}/repatriation-cases`, `/api/v1/repatriation-cases/{id}`,
`/api/v1/crises/{id}/movements`, `/api/v1/movements/{id}`: the evacuation and return operation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile, status
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.dependencies import authorize
from service.auth.permissions import Permission
from service.auth.principal import Principal
from service.crises.service import get_crisis
from service.db import utcnow
from service.deps import IfMatch, SessionDep, SettingsDep, send_etag
from service.errors import Forbidden, InvalidInput
from service.exports import pdf, tables
from service.flows.repatriation import check_in, check_in_file, open_bulk, open_case, seat
from service.lookups import not_found
from service.openapi import problems
from service.pagination import CursorParam, LimitParam, Page, paginate
from service.registry.dependencies import ProtectorDep, rate_limit
from service.registry.protect import Protector
from service.repatriation import checks_file, manifest_pdf, reports, service
from service.repatriation import fund as fund_ledger
from service.repatriation.dependencies import Reader, Writer
from service.repatriation.models import (
    CaseState,
    EntryKind,
    Fund,
    FundEntry,
    Leg,
    Movement,
    RepatriationCase,
)
from service.repatriation.schemas import (
    BulkCreate,
    BulkDone,
    CaseCreate,
    CaseMove,
    CasePublic,
    CheckCreate,
    CheckPublic,
    ChecksApplied,
    CheckWord,
    ConsentCreate,
    CrisisReport,
    DebtorRow,
    EntryCreate,
    EntryPublic,
    FundCreate,
    FundPublic,
    LegPublic,
    LegReport,
    ManifestRow,
    MovementCreate,
    MovementPublic,
    MovementReport,
    Reconciliation,
    RecoveryCreate,
    RecoveryDone,
    RulesPublic,
    RulesSet,
    SeatCreate,
)
from service.settings import Settings

router = APIRouter(tags=["repatriation"])


def _csv(
    session: AsyncSession,
    actor: Principal,
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    filename: str,
    format: str,
    *,
    what: str,
    subject: tuple[str, str],
) -> Response:
    """Rows of dictionaries as a CSV (or XLSX) download, through the shared formula-safe
    writers, audited with its row count."""
    lines = [[r[c] for c in columns] for r in rows]
    return tables.download(
        session, actor, format, columns, lines, filename, what=what, subject=subject
    )


def present(case: RepatriationCase, protect: Protector) -> CasePublic:
    return CasePublic(
        **{name: getattr(case, name) for name in CasePublic.model_fields if name != "note"},
        note=protect.sealer.open(case.note_sealed, record_id=case.id, field="note"),
    )


async def _present_movement(session: SessionDep, movement: Movement) -> MovementPublic:
    legs = await service.legs_of(session, movement.id)
    return MovementPublic(
        id=movement.id,
        crisis_id=movement.crisis_id,
        title=movement.title,
        organised_by=movement.organised_by,
        exercise=movement.exercise,
        legs=[LegPublic.model_validate(leg, from_attributes=True) for leg in legs],
        created_at=movement.created_at,
    )


@router.post(
    "/crises/{id}/repatriation-cases",
    response_model=CasePublic,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "The case already open for this worker"},
        **problems(404, 422),
    },
)
async def create_case(
    id: str,
    data: CaseCreate,
    session: SessionDep,
    actor: Writer,
    protect: ProtectorDep,
    settings: SettingsDep,
    response: Response,
) -> CasePublic:
    """Open a repatriation (or relocation) case for a worker whose record you may read (404 as
    `GET /workers/{id}` otherwise), with the family travelling with them and their needs; from
    their reply to a welfare check with `reply_id`. Its eligibility is decided at once by the
    crisis's rules (`GET .../repatriation-rules`: by default repatriation from alert level 3,
    relocation from 2), said in `rule`. A passport held by the employer or lost opens the
    embassy's task for an emergency travel document. With `tell_family`, the family at home is
    told at `family_phone` when the person is on a movement and when they arrive. The same
    worker again answers the case."""
    crisis = await get_crisis(session, id)
    case, made = await open_case(
        session, actor=actor, crisis=crisis, data=data, protector=protect, settings=settings
    )
    if not made:
        response.status_code = status.HTTP_200_OK
    send_etag(response, case.version)
    return present(case, protect)


@router.post(
    "/crises/{id}/repatriation-cases/bulk",
    response_model=BulkDone,
    responses=problems(404, 409),
)
async def create_cases_in_bulk(
    id: str, data: BulkCreate, session: SessionDep, actor: Writer, settings: SettingsDep
) -> BulkDone:
    """At alert level 4 (mandatory repatriation; a 409 below it), a case for each worker of
    the province (`admin1`) whose record you may read and who has none of this kind yet, each
    decided by the crisis's rules and each waiting for the person's own informed consent (a
    refusal is recorded, never overridden). At most 20,000 a request: the same request again
    opens the rest, and then nothing."""
    crisis = await get_crisis(session, id)
    return await open_bulk(session, actor=actor, crisis=crisis, data=data, settings=settings)


Coordinator = Annotated[Principal, Depends(authorize(Permission.CRISES_WRITE))]


def _rules_public(crisis_id: str, rules: service.Rules, decided: dict[str, int]) -> RulesPublic:
    return RulesPublic(
        crisis_id=crisis_id,
        repatriation_level=rules.repatriation_level,
        relocation_level=rules.relocation_level,
        nationalities=sorted(rules.nationalities),
        admin1=sorted(rules.admin1),
        priority=sorted(rules.priority),
        source=rules.source,
        version=rules.version,
        set_by=rules.set_by,
        decided=decided,
    )


@router.get("/crises/{id}/repatriation-rules", response_model=RulesPublic, responses=problems(404))
async def get_rules(
    id: str, session: SessionDep, actor: Reader, settings: SettingsDep, response: Response
) -> RulesPublic:
    """The eligibility rules of the crisis: its coordinator's (`source` `crisis`) or the
    deployment's (`settings`): the alert level from which each kind of case is open, the
    nationalities and provinces that may leave (empty: all), the vulnerabilities that put a
    person first. The ETag is their version (0 while none is set), for `PUT`'s If-Match."""
    crisis = await get_crisis(session, id)
    rules = await service.rules_of(session, crisis, settings.repatriation_rules)
    send_etag(response, rules.version)
    return _rules_public(crisis.id, rules, {})


@router.put(
    "/crises/{id}/repatriation-rules",
    response_model=RulesPublic,
    responses=problems(404, 412, 428),
)
async def set_rules(
    id: str,
    data: RulesSet,
    session: SessionDep,
    actor: Coordinator,
    response: Response,
    version: IfMatch,
) -> RulesPublic:
    """Set the crisis's eligibility rules (coordinators; If-Match: the version `GET` gave, `"0"`
    while none is set), and decide again every case not yet
    given a seat: `decided` says how many changed to each state. A case with a seat keeps it.
    The same rules again change nothing (after the alert level rose, they decide the cases
    asked for too early)."""
    crisis = await get_crisis(session, id)
    values = data.model_dump(mode="json")
    rules, decided = await service.set_rules(
        session, actor=actor, crisis=crisis, values=values, version=version
    )
    send_etag(response, rules.version)
    return _rules_public(crisis.id, rules, decided)


@router.get(
    "/crises/{id}/repatriation-cases",
    response_model=Page[CasePublic],
    responses=problems(404, 429),
)
async def list_cases(
    id: str,
    request: Request,
    session: SessionDep,
    actor: Reader,
    protect: ProtectorDep,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    state: Annotated[CaseState | None, Query(description="Only this state")] = None,
) -> Page[CasePublic]:
    """The crisis's cases of the workers you may read, highest priority first."""
    from service.registry.access import visibility_clause
    from service.registry.models import Worker

    crisis = await get_crisis(session, id)
    rate_limit(request, actor)
    query = (
        select(RepatriationCase)
        .join(Worker, col(Worker.id) == col(RepatriationCase.worker_id))
        .where(RepatriationCase.crisis_id == crisis.id, visibility_clause(actor))
    )
    if state is not None:
        query = query.where(RepatriationCase.state == state.value)
    page = await paginate(
        session,
        query,
        key=[col(RepatriationCase.priority), col(RepatriationCase.id)],
        limit=limit,
        cursor=cursor,
        descending=True,
    )
    return Page[CasePublic](
        items=[present(c, protect) for c in page.items], next_cursor=page.next_cursor
    )


@router.get("/repatriation-cases/{id}", response_model=CasePublic, responses=problems(404))
async def get_case(
    id: str, session: SessionDep, actor: Reader, protect: ProtectorDep, response: Response
) -> CasePublic:
    """One case, if you may read its worker."""
    case = await service.get_case(session, actor=actor, case_id=id)
    send_etag(response, case.version)
    return present(case, protect)


@router.post(
    "/repatriation-cases/{id}/state",
    response_model=CasePublic,
    responses=problems(404, 409, 412, 428),
)
async def move_case(
    id: str,
    data: CaseMove,
    session: SessionDep,
    actor: Writer,
    protect: ProtectorDep,
    response: Response,
    version: IfMatch,
) -> CasePublic:
    """Move a case by hand (`If-Match`: its version): eligible or not (with the reason),
    documents ready, confirmed, received at origin, closed; or withdrawn, from any state before
    boarding, which frees the person's seats. Seats, boarding and arrival move it too."""
    case = await service.get_case(session, actor=actor, case_id=id)
    service.check_version(case, version)
    if await service.move(session, actor=actor, case=case, to=data.state, reason=data.reason):
        crisis = await get_crisis(session, case.crisis_id)
        await service.timeline(session, crisis, case, actor, "repatriation_case_changed")
    send_etag(response, case.version)
    return present(case, protect)


@router.post(
    "/repatriation-cases/{id}/consent",
    response_model=CasePublic,
    responses=problems(404, 409),
)
async def record_consent(
    id: str,
    data: ConsentCreate,
    session: SessionDep,
    actor: Writer,
    protect: ProtectorDep,
    response: Response,
) -> CasePublic:
    """The person's informed consent, asked before a seat is given. A refusal is recorded and
    never overridden (at alert level 4 too); a person who refuses after a seat is withdrawn and
    the seat freed. The same answer again changes nothing."""
    case = await service.get_case(session, actor=actor, case_id=id)
    if await service.record_consent(session, actor=actor, case=case, given=data.given):
        crisis = await get_crisis(session, case.crisis_id)
        await service.timeline(session, crisis, case, actor, "repatriation_consent")
    send_etag(response, case.version)
    return present(case, protect)


@router.post(
    "/crises/{id}/movements",
    response_model=MovementPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(404),
)
async def create_movement(
    id: str, data: MovementCreate, session: SessionDep, actor: Writer
) -> MovementPublic:
    """A movement of one or more legs (bus, flight, ship...), organised by your organisation."""
    crisis = await get_crisis(session, id)
    movement = Movement(
        crisis_id=crisis.id,
        title=data.title,
        organised_by=actor.organization_id,
        exercise=crisis.exercise,
    )
    session.add(movement)
    await session.flush()
    for seq, leg in enumerate(data.legs, start=1):
        session.add(Leg(movement_id=movement.id, seq=seq, **leg.model_dump()))
    await session.flush()
    from service.crises.service import event as crisis_event

    await crisis_event(
        session, crisis, "movement_created", actor, movement_id=movement.id, legs=len(data.legs)
    )
    return await _present_movement(session, movement)


@router.get("/crises/{id}/movements", response_model=Page[MovementPublic], responses=problems(404))
async def list_movements(
    id: str, session: SessionDep, actor: Reader, limit: LimitParam = 50, cursor: CursorParam = None
) -> Page[MovementPublic]:
    """The crisis's movements and their legs, with the places booked."""
    crisis = await get_crisis(session, id)
    page = await paginate(
        session,
        select(Movement).where(Movement.crisis_id == crisis.id),
        key=[col(Movement.id)],
        limit=limit,
        cursor=cursor,
    )
    return Page[MovementPublic](
        items=[await _present_movement(session, m) for m in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/movements/{id}", response_model=MovementPublic, responses=problems(404))
async def get_movement(id: str, session: SessionDep, actor: Reader) -> MovementPublic:
    """A movement and its legs, with the places booked."""
    return await _present_movement(session, await service.get_movement(session, id))


@router.post(
    "/movements/{id}/seats",
    response_model=CasePublic,
    responses=problems(404, 409),
)
async def assign_seat(
    id: str,
    data: SeatCreate,
    session: SessionDep,
    actor: Writer,
    protect: ProtectorDep,
    settings: SettingsDep,
) -> CasePublic:
    """Give a case (the person and their family) a place on every leg of the movement, or on
    none: a leg without room is a 409 and nothing is booked, however many officers assign at
    once. Eligible cases with consent only. The same case again changes nothing. The family at
    home is told, where the person agreed."""
    movement = await service.get_movement(session, id)
    case = await service.get_case(session, actor=actor, case_id=data.case_id)
    await seat(
        session, actor=actor, movement=movement, case=case, protector=protect, settings=settings
    )
    return present(case, protect)


async def _check(
    id: str,
    seq: int,
    data: CheckCreate,
    session: SessionDep,
    actor: Principal,
    protect: Protector,
    settings: Settings,
    *,
    arrived: bool,
) -> CheckPublic:
    movement = await service.get_movement(session, id)
    case = await service.get_case(session, actor=actor, case_id=data.case_id)
    done = await check_in(
        session,
        actor=actor,
        movement=movement,
        seq=seq,
        case=case,
        arrived=arrived,
        protector=protect,
        settings=settings,
    )
    return CheckPublic(
        case_id=case.id, leg=seq, seat=done.seat.state, changed=done.changed, case_state=case.state
    )


@router.post(
    "/movements/{id}/legs/{seq}/boarding",
    response_model=CheckPublic,
    responses=problems(404, 409),
)
async def board(
    id: str,
    seq: int,
    data: CheckCreate,
    session: SessionDep,
    actor: Writer,
    protect: ProtectorDep,
    settings: SettingsDep,
) -> CheckPublic:
    """A person boarded leg `seq` (checked at the gate); the same check again changes nothing."""
    return await _check(id, seq, data, session, actor, protect, settings, arrived=False)


@router.post(
    "/movements/{id}/legs/{seq}/arrival",
    response_model=CheckPublic,
    responses=problems(404, 409),
)
async def arrive(
    id: str,
    seq: int,
    data: CheckCreate,
    session: SessionDep,
    actor: Writer,
    protect: ProtectorDep,
    settings: SettingsDep,
) -> CheckPublic:
    """A person arrived at the end of leg `seq`; at the last leg the case is `arrived` and the
    origin side's reception tasks open, and the family at home is told where the person
    agreed."""
    return await _check(id, seq, data, session, actor, protect, settings, arrived=True)


@router.post(
    "/movements/{id}/legs/{seq}/checks.csv",
    response_model=ChecksApplied,
    responses=problems(404, 413, 422),
)
async def import_checks(
    id: str,
    seq: int,
    session: SessionDep,
    actor: Writer,
    protect: ProtectorDep,
    settings: SettingsDep,
    file: Annotated[
        UploadFile,
        File(description="CSV (UTF-8, header row): case_id, check (boarded | arrived), at"),
    ],
    check: Annotated[
        CheckWord | None,
        Query(description="The check of every row, for a file without a `check` column"),
    ] = None,
) -> ChecksApplied:
    """The checks of a gate as a CSV file, one row a person: `case_id`, `check` (`boarded` or
    `arrived`; or `?check=` for every row) and, optionally, `at` (ISO 8601 with its offset: when
    it was checked). A manifest's CSV read back works: its rows of other legs are left aside.
    Each row is the check of `POST .../boarding` or `.../arrival`, in the file's order, and all
    of them or none: a file with any bad row changes nothing and is a 422 listing each bad row
    (its number, the header being row 1, its column and why). The same file again changes
    nothing and says so (`unchanged`). At most 20,000 rows."""
    movement = await service.get_movement(session, id)
    content = checks_file.within_limit(await file.read(checks_file.MAX_CHECK_BYTES + 1))
    read = checks_file.read(content, seq=seq, default=check)
    return await check_in_file(
        session,
        actor=actor,
        movement=movement,
        seq=seq,
        read=read,
        protector=protect,
        settings=settings,
    )


@router.get(
    "/movements/{id}/reconciliation", response_model=Reconciliation, responses=problems(404)
)
async def reconciliation(id: str, session: SessionDep, actor: Reader) -> Reconciliation:
    """Booked, boarded and arrived on each leg, and who is missing at each step (worker ids)."""
    movement = await service.get_movement(session, id)
    return Reconciliation.model_validate(
        {"movement_id": movement.id, "legs": await service.reconcile(session, movement)}
    )


@router.get(
    "/movements/{id}/manifest",
    response_model=list[ManifestRow],
    responses={
        200: {"content": {**tables.CONTENT, pdf.MEDIA_TYPE: {}}},
        **problems(404, 429),
    },
)
async def manifest(
    id: str,
    request: Request,
    session: SessionDep,
    actor: Reader,
    protect: ProtectorDep,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx|pdf)$")] = "json",
) -> Any:
    """Who is on which leg: names and passport for those who may read the person (their
    consular officers), ids for the others; never a documentation status. format=csv for the
    carrier and the receiving authorities, format=pdf to print: per leg, who travels (a name
    where you may read it), their places, needs and seat, and a box to tick at the gate."""
    movement = await service.get_movement(session, id)
    rate_limit(request, actor)
    rows = await service.manifest(session, actor=actor, movement=movement, protector=protect)
    if format in tables.FORMATS:
        return _csv(
            session,
            actor,
            service.MANIFEST_COLUMNS,
            rows,
            f"movement-{movement.id}-manifest.csv",
            format,
            what="movement.manifest",
            subject=("movement", movement.id),
        )
    if format == "pdf":
        legs = await service.legs_of(session, movement.id)
        generated_at = utcnow().replace(microsecond=0)
        document = await asyncio.to_thread(
            manifest_pdf.render, movement, legs, rows, generated_at=generated_at
        )
        return Response(
            document,
            media_type=pdf.MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="movement-{movement.id}-manifest.pdf"'
            },
        )
    return [ManifestRow(**r) for r in rows]


def _fund_public(fund: Fund, ledger: list[Any]) -> FundPublic:
    return FundPublic(
        id=fund.id,
        name=fund.name,
        currency=fund.currency,
        country=fund.country,
        organization_id=fund.organization_id,
        **fund_ledger.summary(ledger),
    )


async def _fund(session: SessionDep, fund_id: str) -> Fund:
    found = await session.get(Fund, fund_id)
    if found is None:
        raise not_found("fund", fund_id)
    return found


async def _fund_to_write(session: SessionDep, actor: Principal, fund_id: str) -> Fund:
    fund = await _fund(session, fund_id)
    if not fund_ledger.may_write(actor, fund):
        raise Forbidden("Only the fund's own organisation, or a coordinator, writes its ledger")
    return fund


@router.post("/funds", response_model=FundPublic, status_code=status.HTTP_201_CREATED)
async def create_fund(data: FundCreate, session: SessionDep, actor: Writer) -> FundPublic:
    """A contingency fund (an origin State's emergency repatriation fund), in one currency."""
    fund = Fund(**data.model_dump(), organization_id=actor.organization_id)
    session.add(fund)
    await session.flush()
    return _fund_public(fund, [])


@router.get("/funds", response_model=Page[FundPublic])
async def list_funds(
    session: SessionDep, actor: Reader, limit: LimitParam = 50, cursor: CursorParam = None
) -> Page[FundPublic]:
    """Every fund and its balance."""
    page = await paginate(session, select(Fund), key=[col(Fund.id)], limit=limit, cursor=cursor)
    return Page[FundPublic](
        items=[_fund_public(f, await fund_ledger.entries(session, f.id)) for f in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/funds/{id}", response_model=FundPublic, responses=problems(404))
async def get_fund(id: str, session: SessionDep, actor: Reader) -> FundPublic:
    """A fund's balance: available, committed, spent, and what employers and agencies owe."""
    fund = await _fund(session, id)
    return _fund_public(fund, await fund_ledger.entries(session, fund.id))


@router.post(
    "/funds/{id}/entries",
    response_model=EntryPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problems(403, 404, 409),
)
async def add_entry(id: str, data: EntryCreate, session: SessionDep, actor: Writer) -> EntryPublic:
    """One immutable entry of the ledger. A commitment for a movement may leave out the amount
    (each leg's places at their price). Below zero is a 409 unless a coordinator gives an
    `override` (recorded with the entry). Only the fund's organisation and coordinators write."""
    fund = await _fund_to_write(session, actor, id)
    amount = data.amount
    if amount is None:
        if data.kind != EntryKind.COMMITMENT.value or data.movement_id is None:
            raise InvalidInput("Give the amount (only a movement's commitment may leave it out)")
        amount = fund_ledger.movement_cost(await service.legs_of(session, data.movement_id))
        if amount <= 0:
            raise InvalidInput("The movement's legs have no price: give the amount")
    entry = await fund_ledger.add(
        session,
        actor=actor,
        fund=fund,
        kind=EntryKind(data.kind),
        amount=amount,
        override=data.override,
        crisis_id=data.crisis_id,
        movement_id=data.movement_id,
        against=data.against,
        debtor_org_id=data.debtor_org_id,
        note=data.note,
    )
    return EntryPublic.model_validate(entry, from_attributes=True)


@router.get(
    "/funds/{id}/entries",
    response_model=Page[EntryPublic],
    responses={**tables.ANSWER, **problems(404)},
)
async def list_entries(
    id: str,
    session: SessionDep,
    actor: Reader,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
    format: Annotated[str, Query(pattern=tables.PATTERN)] = "json",
) -> Any:
    """The ledger, oldest first; format=csv exports all of it."""
    fund = await _fund(session, id)
    if format in tables.FORMATS:
        ledger = await fund_ledger.entries(session, fund.id)
        columns = tuple(EntryPublic.model_fields)
        return tables.download(
            session,
            actor,
            format,
            columns,
            [[getattr(e, c) for c in columns] for e in ledger],
            f"fund-{fund.id}-ledger.csv",
            what="fund.entries",
            subject=("fund", fund.id),
        )
    page = await paginate(
        session,
        select(FundEntry).where(FundEntry.fund_id == fund.id),
        key=[col(FundEntry.id)],
        limit=limit,
        cursor=cursor,
    )
    return Page[EntryPublic](
        items=[EntryPublic.model_validate(e, from_attributes=True) for e in page.items],
        next_cursor=page.next_cursor,
    )


@router.post("/funds/{id}/recoveries", response_model=RecoveryDone, responses=problems(403, 404))
async def recover_costs(
    id: str, data: RecoveryCreate, request: Request, session: SessionDep, actor: Writer
) -> RecoveryDone:
    """Claim the cost of each boarded worker's own place from their employer (else their
    agency) where the law of the fund's country says they pay
    (`LIFELINE_REPATRIATION_RECOVERY`; the Philippines by default: RA 8042 s.15); once per
    worker and movement."""
    fund = await _fund_to_write(session, actor, id)
    await service.get_movement(session, data.movement_id)
    rules = request.app.state.settings.repatriation_recovery or fund_ledger.RECOVERY_RULES
    rule = rules.get(fund.country)
    done = await fund_ledger.recover(
        session, actor=actor, fund=fund, movement_id=data.movement_id, rule=rule
    )
    return RecoveryDone(rule=rule, **done)


Format = Annotated[str, Query(pattern=tables.PATTERN)]
_CSV = tables.ANSWER


@router.get(
    "/crises/{id}/repatriation-report",
    response_model=CrisisReport,
    responses={**_CSV, **problems(404, 429)},
)
async def crisis_report(
    id: str, request: Request, session: SessionDep, actor: Reader, format: Format = "json"
) -> Any:
    """The crisis's operation in counts: cases of the workers you may read by state, consent
    and nationality; each movement's legs (booked, boarded, arrived, missing) and money; the
    situation report's line. format=csv: the cases by nationality and state."""
    crisis = await get_crisis(session, id)
    rate_limit(request, actor)
    report = await reports.crisis_report(session, actor=actor, crisis=crisis)
    if format in tables.FORMATS:
        return _csv(
            session,
            actor,
            ("nationality", "state", "cases", "people"),
            report["by_nationality"],
            f"crisis-{crisis.id}-repatriation.csv",
            format,
            what="repatriation.report",
            subject=("crisis", crisis.id),
        )
    return CrisisReport.model_validate(report)


@router.get(
    "/movements/{id}/report",
    response_model=MovementReport,
    responses={**_CSV, **problems(404, 429)},
)
async def movement_report(
    id: str, request: Request, session: SessionDep, actor: Reader, format: Format = "json"
) -> Any:
    """A movement in counts: each leg's places and people booked, boarded, arrived, missing at
    its gate and at its end; the money set aside, spent and claimed back for it, by currency.
    format=csv: a row a leg."""
    movement = await service.get_movement(session, id)
    rate_limit(request, actor)
    report = await reports.movement_report(session, movement)
    if format in tables.FORMATS:
        return _csv(
            session,
            actor,
            tuple(LegReport.model_fields),
            report["legs"],
            f"movement-{movement.id}-report.csv",
            format,
            what="movement.report",
            subject=("movement", movement.id),
        )
    return MovementReport.model_validate(report)


@router.get(
    "/funds/{id}/debtors",
    response_model=list[DebtorRow],
    responses={**_CSV, **problems(404, 429)},
)
async def fund_debtors(
    id: str, request: Request, session: SessionDep, actor: Reader, format: Format = "json"
) -> Any:
    """The employers and agencies the fund claimed a return's cost from (the law of its
    country): claimed, received, owed, for how many workers; most owed first."""
    fund = await _fund(session, id)
    rate_limit(request, actor)
    rows = await reports.debtors(session, fund)
    if format in tables.FORMATS:
        return _csv(
            session,
            actor,
            reports.DEBTOR_COLUMNS,
            rows,
            f"fund-{fund.id}-debtors.csv",
            format,
            what="fund.debtors",
            subject=("fund", fund.id),
        )
    return [DebtorRow(**r) for r in rows]
