"""Storing alerts: the same item again changes nothing; a newer version updates the alert and
keeps the old one; aliases and CAP references tie versions of one event together."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import defer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from integrations.alert import Alert, MsgType
from service.alerts.models import AlertAlias, AlertPush, AlertRecord, AlertVersion
from service.alerts.zones import locate
from service.audit.service import record
from service.auth.principal import Principal
from service.db import new_id, utcnow
from service.lookups import get_or_404
from service.pagination import Page, paginate
from service.webhooks.service import emit

NEW, UPDATED, UNCHANGED = "new", "updated", "unchanged"


def _insert(conn: AsyncConnection, model: Any) -> Any:
    """An INSERT that can skip on conflict, on either database."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(model.__table__)


Located = tuple[dict[str, Any] | None, str | None]


def _fields(alert: Alert, located: Located | None = None) -> dict[str, Any]:
    """The alert's latest state, as columns (``located``: its zone, if already made)."""
    zone, zone_source = located if located is not None else locate(alert)
    return {
        "zone": zone,
        "zone_source": zone_source,
        "version": alert.version,
        "hazard": alert.hazard.value,
        "severity": int(alert.severity),
        "certainty": alert.certainty.value,
        "urgency": alert.urgency.value,
        "status": alert.status.value,
        "msg_type": alert.msg_type.value,
        "headline": alert.headline[:1000],
        "description": alert.description,
        "instruction": alert.instruction,
        "onset": alert.onset,
        "expires": alert.expires,
        "sent": alert.sent,
        "geometry": alert.geometry,
        "languages": list(alert.languages),
        "countries": list(alert.countries),
        "url": (alert.url or "")[:1000] or None,
        "extra": _jsonable(alert.extra),
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _is_newer(alert: Alert, current: AlertRecord) -> bool:
    if alert.sent is not None and current.sent is not None and alert.sent != current.sent:
        return alert.sent > current.sent
    if alert.version.isdigit() and current.version.isdigit():
        return int(alert.version) >= int(current.version)
    return True  # same time, or no time: arrival order


async def find_alert(session: AsyncSession, alert: Alert) -> AlertRecord | None:
    """The stored alert this one belongs to: by its id, or by any alias or reference."""
    found = (
        await session.exec(
            select(AlertRecord).where(
                AlertRecord.source == alert.source, AlertRecord.external_id == alert.external_id
            )
        )
    ).first()
    if found is not None:
        return found
    keys = {alert.external_id, *alert.aliases, *alert.references}
    alias = (
        await session.exec(
            select(AlertAlias).where(
                AlertAlias.source == alert.source, col(AlertAlias.alias).in_(sorted(keys))
            )
        )
    ).first()
    if alias is None:
        return None
    return await session.get(AlertRecord, alias.alert_id)


async def store_alert(
    session: AsyncSession, *, alert: Alert, actor: Principal, zone: Located | None = None
) -> tuple[AlertRecord, str]:
    """Keep ``alert``; return the stored alert and whether it was new, updated or unchanged.

    ``zone`` is ``zones.locate(alert)`` when the caller made it already (the API does, in a
    geometry thread); otherwise it is made here.

    Safe against two workers storing the same item at once: inserts skip on conflict and the
    loser reads what the winner wrote.
    """
    conn = await session.connection()
    current = await find_alert(session, alert)
    if current is None:
        alert_id = new_id()
        inserted = await conn.execute(
            _insert(conn, AlertRecord)
            .values(
                id=alert_id,
                source=alert.source,
                external_id=alert.external_id,
                cancelled=alert.msg_type is MsgType.CANCEL,
                versions=1,
                created_at=utcnow(),
                updated_at=utcnow(),
                **_fields(alert, zone),
            )
            .on_conflict_do_nothing(index_elements=["source", "external_id"])
        )
        if inserted.rowcount == 1:
            await _add_version(session, alert_id, alert)
            await _add_aliases(conn, alert_id, alert)
            stored = await session.get(AlertRecord, alert_id)
            assert stored is not None
            emit(
                session,
                type="alert.received",
                subject=f"alert:{alert_id}",
                data={
                    "alert_id": alert_id,
                    "source": alert.source,
                    "hazard": alert.hazard.value,
                    "severity": int(alert.severity),
                    "status": alert.status.value,
                    "headline": alert.headline[:300],
                },
            )
            record(
                session,
                actor=actor,
                action="alert.received",
                subject_type="alert",
                subject_id=alert_id,
                detail={"source": alert.source, "version": alert.version, "outcome": NEW},
            )
            return stored, NEW
        current = await find_alert(session, alert)
        assert current is not None
    if not await _add_version(session, current.id, alert):
        return current, UNCHANGED
    await _add_aliases(conn, current.id, alert)
    if _is_newer(alert, current):
        for name, value in _fields(alert, zone).items():
            setattr(current, name, value)
    if alert.msg_type is MsgType.CANCEL:
        current.cancelled = True
    current.versions += 1
    current.updated_at = utcnow()
    session.add(current)
    await session.flush()
    record(
        session,
        actor=actor,
        action="alert.received",
        subject_type="alert",
        subject_id=current.id,
        detail={
            "source": alert.source,
            "version": alert.version,
            "outcome": UPDATED,
            "msg_type": alert.msg_type.value,
        },
    )
    return current, UPDATED


async def _add_version(session: AsyncSession, alert_id: str, alert: Alert) -> bool:
    """Record this version; False when it was already there (the same item again)."""
    exists = await session.exec(
        select(AlertVersion.id).where(
            AlertVersion.alert_id == alert_id, AlertVersion.version == alert.version
        )
    )
    if exists.first() is not None:
        return False
    conn = await session.connection()
    fetch = dataclasses.asdict(alert.fetch) if alert.fetch else {}
    result = await conn.execute(
        _insert(conn, AlertVersion)
        .values(
            id=new_id(),
            alert_id=alert_id,
            version=alert.version,
            msg_type=alert.msg_type.value,
            received_at=utcnow(),
            raw=alert.raw,
            fetch=_jsonable(fetch),
            summary={
                "sha256": hashlib.sha256(alert.raw).hexdigest() if alert.raw else None,
                "severity": int(alert.severity),
                "headline": alert.headline[:300],
                "sent": alert.sent.isoformat() if alert.sent else None,
            },
        )
        .on_conflict_do_nothing(index_elements=["alert_id", "version"])
    )
    return bool(result.rowcount == 1)


async def _add_aliases(conn: AsyncConnection, alert_id: str, alert: Alert) -> None:
    keys = sorted({alert.external_id, *alert.aliases})
    await conn.execute(
        _insert(conn, AlertAlias).on_conflict_do_nothing(index_elements=["source", "alias"]),
        [
            {"id": new_id(), "source": alert.source, "alias": k[:300], "alert_id": alert_id}
            for k in keys
        ],
    )


async def get_alert(session: AsyncSession, *, alert_id: str) -> AlertRecord:
    return await get_or_404(session, AlertRecord, alert_id, noun="alert")


async def list_alerts(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None = None,
    source: str | None = None,
    hazard: str | None = None,
    status: str | None = None,
    active_only: bool = False,
) -> Page[AlertRecord]:
    """Newest first (by id, which is time-ordered)."""
    query = select(AlertRecord)
    if source:
        query = query.where(AlertRecord.source == source)
    if hazard:
        query = query.where(AlertRecord.hazard == hazard)
    if status:
        query = query.where(AlertRecord.status == status)
    if active_only:
        query = query.where(col(AlertRecord.cancelled).is_(False))
    return await paginate(
        session, query, key=[col(AlertRecord.id)], limit=limit, cursor=cursor, descending=True
    )


async def versions_of(session: AsyncSession, *, alert_id: str) -> Sequence[AlertVersion]:
    query = (
        select(AlertVersion)
        .where(AlertVersion.alert_id == alert_id)
        .order_by(col(AlertVersion.received_at))
    )
    return (await session.exec(query)).all()


class PassResult(Protocol):
    """What the crisis pass says of one alert (``service.flows.alert_pass.Outcome``)."""

    @property
    def result(self) -> str: ...
    @property
    def crisis_id(self) -> str | None: ...
    @property
    def tasks(self) -> int: ...
    @property
    def why(self) -> str: ...


async def record_outcome(
    session: AsyncSession, outcome: PassResult, *, alert_id: str, version: str
) -> None:
    """Keep what the crisis pass made of this version, for those who pushed it."""
    conn = await session.connection()
    table = AlertVersion.__table__  # type: ignore[attr-defined]
    await conn.execute(
        update(table)
        .where(table.c.alert_id == alert_id, table.c.version == version)
        .values(
            result=outcome.result,
            crisis_id=outcome.crisis_id,
            tasks=outcome.tasks,
            why=outcome.why[:300] or None,
            handled_at=utcnow(),
        )
    )


async def record_push(
    session: AsyncSession, *, alert_id: str, version: str, actor: Principal, received: str
) -> None:
    """Note that ``actor``'s organisation pushed this version; a second push of it adds nothing."""
    conn = await session.connection()
    await conn.execute(
        _insert(conn, AlertPush)
        .values(
            id=new_id(),
            alert_id=alert_id,
            version=version,
            organization_id=actor.organization_id or "",
            received=received,
            pushed_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["alert_id", "version", "organization_id"])
    )


async def version_of(session: AsyncSession, *, alert_id: str, version: str) -> AlertVersion | None:
    """One version as stored now (its outcome included), without its raw bytes."""
    query = (
        select(AlertVersion)
        .where(AlertVersion.alert_id == alert_id, AlertVersion.version == version)
        .options(defer(AlertVersion.raw))  # type: ignore[arg-type]
        .execution_options(populate_existing=True)
    )
    return (await session.exec(query)).first()


def pushes_query(actor: Principal, *, alert_id: str | None = None) -> Any:
    """The pushes the caller may see (its organisation's; an admin's: everyone's), each with
    its version as stored (and so the crisis pass's outcome); ordered by the caller."""
    from sqlalchemy import and_

    from service.auth.permissions import Role

    query = (
        select(AlertPush, AlertVersion)
        .outerjoin(
            AlertVersion,
            and_(
                col(AlertVersion.alert_id) == col(AlertPush.alert_id),
                col(AlertVersion.version) == col(AlertPush.version),
            ),
        )
        .options(defer(AlertVersion.raw))  # type: ignore[arg-type]
    )
    if actor.role is not Role.ADMIN:
        query = query.where(AlertPush.organization_id == (actor.organization_id or ""))
    if alert_id is not None:
        query = query.where(AlertPush.alert_id == alert_id)
    return query


async def pushes_of(
    session: AsyncSession, *, actor: Principal, alert_id: str
) -> list[tuple[AlertPush, AlertVersion | None]]:
    """Every push of one alert the caller may see, oldest first."""
    query = pushes_query(actor, alert_id=alert_id).order_by(col(AlertPush.id))
    return [(push, version) for push, version in (await session.exec(query)).all()]
