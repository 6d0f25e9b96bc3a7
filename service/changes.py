"""Recording a change: its crisis timeline entry, its outbox event and its audit record, by one
call in the caller's transaction.

Domain code calls ``record_change`` and writes none of the three rows itself. This module is the
one place that batches statements for PostgreSQL (docs/decisions/0013-change-record.md): a
guarded change there is one statement, built with SQLAlchemy Core from the tables' metadata, so
the column types come from the models and never from hand-written SQL. SQLite gets the same rows
from plain statements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.sql import Select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.audit.models import AuditEvent
from service.audit.service import audit_row
from service.auth.principal import Principal
from service.crises.models import CrisisEvent
from service.db import metadata, new_id, utcnow
from service.webhooks.models import OutboxEvent
from service.webhooks.service import CRISIS_EVENTS, event_values

_TIMELINE = metadata.tables["crisis_events"]
_OUTBOX = metadata.tables["outbox_events"]
_AUDIT = metadata.tables["audit_events"]
#: An audit event's columns but its id, which the database numbers.
_AUDIT_WRITTEN = tuple(c.name for c in _AUDIT.columns if not c.primary_key)

#: A row to write: its table and its values.
Row = tuple[Table, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Guard:
    """The versioned row a change updates, only if it is still at ``version`` (the one the caller
    read); ``rows`` are written only if it is (a task's history entry)."""

    table: Table
    id: str
    version: int
    values: Mapping[str, Any]
    rows: Sequence[Row] = ()


def who(actor: Principal) -> str:
    """The actor as the timeline and a record's history name it."""
    return actor.organization_slug or actor.channel


async def record_change(
    session: AsyncSession,
    *,
    actor: Principal,
    crisis_id: str,
    exercise: bool,
    kind: str,
    detail: Mapping[str, Any],
    event: Mapping[str, Any] | None = None,
    audit: bool = True,
    guard: Guard | None = None,
) -> bool:
    """Record one change of a crisis or its tasks; False (and nothing written) when ``guard``
    found its row changed by another writer.

    - The timeline entry ``kind`` with ``detail``, on the crisis ``crisis_id``.
    - The outbox event, when a webhook carries ``kind``: the timeline entry's detail, plus
      ``event`` (what the event says besides, such as the crisis's hazard and alert level).
    - The audit event ``crisis.<kind>`` with the scalar values of ``detail`` (ids, counts,
      states: callers put no personal data in a timeline entry), unless ``audit`` is False: an
      API call's own audit event, written by its route, already records it.

    Without a guard the rows join the unit of work and go out with its next flush. With one the
    update and every row are written now, and only if the update is: on PostgreSQL in one
    statement, which also writes the audit events the unit of work holds unwritten (an API
    call's own), so that the change costs one round trip.
    """
    rows = _rows(
        actor=actor,
        crisis_id=crisis_id,
        exercise=exercise,
        kind=kind,
        detail=detail,
        event=event,
        audit=audit,
    )
    if guard is None:
        models = {_TIMELINE: CrisisEvent, _OUTBOX: OutboxEvent, _AUDIT: AuditEvent}
        session.add_all(models[table](**values) for table, values in rows)
        return True
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        changed = await connection.execute(
            update(guard.table)
            .where(guard.table.c.id == guard.id, guard.table.c.version == guard.version)
            .values(dict(guard.values))
        )
        if changed.rowcount != 1:
            return False
        for table, values in (*guard.rows, *rows):
            await connection.execute(insert(table).values(dict(values)))
        return True
    unwritten = [e for e in session.new if isinstance(e, AuditEvent)]
    for pending in unwritten:
        session.expunge(pending)
    writes = [
        *guard.rows,
        *rows,
        *((_AUDIT, {c: getattr(e, c) for c in _AUDIT_WRITTEN}) for e in unwritten),
    ]
    statement = _guarded(
        guard.table,
        tuple(guard.values),
        tuple((table, tuple(values)) for table, values in writes),
    )
    params = {
        "guard_id": guard.id,
        "guard_version": guard.version,
        **{f"set_{name}": value for name, value in guard.values.items()},
        **{
            f"w{i}_{name}": value
            for i, (_, values) in enumerate(writes)
            for name, value in values.items()
        },
    }
    written = False
    try:
        written = bool((await connection.execute(statement, params)).scalar_one())
    finally:
        if not written:
            # Nothing was written: the unit of work keeps what it held.
            session.add_all(unwritten)
    return written


def _rows(
    *,
    actor: Principal,
    crisis_id: str,
    exercise: bool,
    kind: str,
    detail: Mapping[str, Any],
    event: Mapping[str, Any] | None,
    audit: bool,
) -> list[Row]:
    """The timeline entry, the outbox event (if a webhook carries the kind) and the audit event
    of a change, as rows."""
    at = utcnow()
    rows: list[Row] = [
        (
            _TIMELINE,
            {
                "id": new_id(),
                "crisis_id": crisis_id,
                "at": at,
                "kind": kind,
                "actor": who(actor),
                "detail": dict(detail),
            },
        )
    ]
    webhook_type = CRISIS_EVENTS.get(kind)
    if webhook_type is not None:
        task_id = detail.get("task_id")
        outbox = event_values(
            type=webhook_type,
            subject=f"task:{task_id}" if task_id else f"crisis:{crisis_id}",
            organization_id=detail.get("assignee_org")
            or detail.get("to_org")
            or detail.get("owner"),
            data={
                "crisis_id": crisis_id,
                "kind": kind,
                "exercise": exercise,
                **(event or {}),
                **{k: v for k, v in detail.items() if v is not None},
            },
        )
        rows.append((_OUTBOX, {**outbox, "occurred_at": at}))
    if audit:
        ids_and_counts = {
            k: v for k, v in detail.items() if isinstance(v, str | int | float | bool) or v is None
        }
        rows.append(
            (
                _AUDIT,
                audit_row(
                    actor=actor,
                    action=f"crisis.{kind}",
                    subject_type="crisis",
                    subject_id=crisis_id,
                    detail=ids_and_counts,
                ),
            )
        )
    return rows


@lru_cache(maxsize=64)
def _guarded(
    table: Table, values: tuple[str, ...], writes: tuple[tuple[Table, tuple[str, ...]], ...]
) -> Select[int]:
    """One statement: the guarded update, and each write taking its row from the update's, so
    that a stale version writes nothing at all; it answers how many rows the update changed.
    Built once per shape of change: building a statement costs about as much as running it."""
    changed = (
        update(table)
        .where(table.c.id == bindparam("guard_id"), table.c.version == bindparam("guard_version"))
        .values({name: bindparam(f"set_{name}", type_=table.c[name].type) for name in values})
        .returning(table.c.id)
        .cte("changed")
    )
    inserts = [
        insert(target)
        .from_select(
            list(names),
            select(*(bindparam(f"w{i}_{n}", type_=target.c[n].type) for n in names)).select_from(
                changed
            ),
        )
        .cte(f"write_{i}")
        for i, (target, names) in enumerate(writes)
    ]
    return select(func.count()).select_from(changed).add_cte(*inserts)
