"""The situation reports kept with a crisis: each day, for every crisis not closed (drills
too, EXERCISE on every page), the day's report as it is shared beyond the need-to-know, in
English and in the languages of the nationalities most exposed that it is written in.

The report kept is the one a ``viewer`` is given (``SHARED``): counts rounded and small cells
withheld, no task or repatriation figure, never a name or a documentation status; whoever asks
for a kept report gets that same file, whatever their own role would show them live
(docs/decisions/0023-kept-sitreps.md).

The worker keeps the first report of each day (``keep_daily``: a second run the same day
changes nothing); a coordinator may keep it again now (``keep(..., replace=True)``), which
replaces that day's files.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace as copy
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import defer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from integrations.messaging.templates import NATIONAL_LANGUAGES
from service.audit.service import record
from service.auth.permissions import Role
from service.auth.principal import WORKER, Principal
from service.changes import who
from service.crises.models import Crisis, Phase
from service.db import is_unique_violation, session_scope, utcnow
from service.errors import Conflict, NotFound
from service.exports.models import KeptSitrep
from service.flows import sitrep
from service.flows.sitrep_texts import TEXTS, texts
from service.pagination import Page, paginate

log = logging.getLogger("lifeline.sitreps")

#: The view a kept report is made for: a viewer's, outside every need-to-know.
SHARED = Principal(organization_id=None, role=Role.VIEWER, channel="worker")
#: How many of the most exposed nationalities get the report in their language.
NATIONALITIES = 3


def languages_of(report: sitrep.Sitrep) -> list[str]:
    """English, then the languages the report is written in of the nationalities most exposed
    as the report shows them (a nationality withheld there chooses no language)."""
    shown: dict[str, int] = dict((report.exposure or {}).get("by_nationality", {}))
    out = ["en"]
    for nationality, _ in sorted(shown.items(), key=lambda c: (-c[1], c[0]))[:NATIONALITIES]:
        language = NATIONAL_LANGUAGES.get(nationality)
        if language is not None and language in TEXTS and language not in out:
            out.append(language)
    return out


def kept_link(crisis_id: str, day: date, language: str, format: str) -> str:
    return (
        f"/api/v1/crises/{crisis_id}/sitreps/{day.isoformat()}?language={language}&format={format}"
    )


async def _render(report: sitrep.Sitrep, created_at: datetime) -> tuple[bytes, str]:
    document = await asyncio.to_thread(sitrep.render_pdf, report, created_at=created_at)
    link = kept_link(report.crisis.id, report.day, report.language, "pdf")
    return document, sitrep.html_document(report, link)


async def keep(
    session: AsyncSession,
    *,
    crisis: Crisis,
    actor: Principal,
    threshold: int,
    replace: bool,
    now: datetime | None = None,
) -> list[KeptSitrep]:
    """Today's shared report of ``crisis``, kept in each of its languages: made anew where
    ``replace`` or where none is kept yet, else the one kept left as it is. Audited
    (``crisis.sitrep_kept``) when any is made."""
    now = now or utcnow()
    made_at, day = now.replace(microsecond=0), now.date()
    report = await sitrep.gather(
        session, actor=SHARED, crisis=crisis, day=day, threshold=threshold, now=now
    )
    kept = {
        k.language: k
        for k in (
            await session.exec(
                select(KeptSitrep).where(KeptSitrep.crisis_id == crisis.id, KeptSitrep.day == day)
            )
        ).all()
    }
    out: list[KeptSitrep] = []
    made: list[str] = []
    for language in languages_of(report):
        row = kept.get(language)
        if row is not None and not replace:
            out.append(row)
            continue
        document, page = await _render(copy(report, language=language), made_at)
        if row is None:
            row = KeptSitrep(
                crisis_id=crisis.id,
                day=day,
                language=language,
                created_at=made_at,
                exercise=crisis.exercise,
                pdf=document,
                html=page,
                made_by=who(actor),
            )
        else:
            row.created_at, row.exercise, row.made_by = made_at, crisis.exercise, who(actor)
            row.pdf, row.html = document, page
        session.add(row)
        out.append(row)
        made.append(language)
    if made:
        record(
            session,
            actor=actor,
            action="crisis.sitrep_kept",
            subject_type="crisis",
            subject_id=crisis.id,
            detail={"date": day.isoformat(), "languages": made, "replaced": replace},
        )
    try:
        await session.flush()
    except IntegrityError as exc:
        # Another keeper (the worker's daily pass, a second click) wrote the same day first.
        if not is_unique_violation(exc):
            raise
        raise Conflict(
            "Today's report is being kept at this moment by another request or the worker: "
            "try again in a moment"
        ) from exc
    return out


async def keep_daily(
    maker: async_sessionmaker[AsyncSession], *, threshold: int, now: datetime | None = None
) -> dict[str, int]:
    """The worker's daily pass: today's report kept for every crisis not closed that has none
    yet, each crisis in a transaction of its own. Counts of crises ``kept``, that ``had`` one,
    and whose report ``failed`` (logged, tried again at the next run)."""
    now = now or utcnow()
    async with session_scope(maker) as session:
        crises = (
            await session.exec(
                select(Crisis.id).where(Crisis.phase != Phase.CLOSED.value).order_by(col(Crisis.id))
            )
        ).all()
        done = set(
            (
                await session.exec(
                    select(KeptSitrep.crisis_id).where(
                        KeptSitrep.day == now.date(), KeptSitrep.language == "en"
                    )
                )
            ).all()
        )
    counts = {"kept": 0, "had": 0, "failed": 0}
    for crisis_id in crises:
        if crisis_id in done:
            counts["had"] += 1
            continue
        try:
            async with session_scope(maker) as session:
                crisis = await session.get(Crisis, crisis_id)
                if crisis is None:  # gone since
                    continue
                await keep(
                    session,
                    crisis=crisis,
                    actor=WORKER,
                    threshold=threshold,
                    replace=False,
                    now=now,
                )
        except Exception:  # one crisis's report never stops the others'; tried again next run
            log.exception("sitrep not kept", extra={"crisis": crisis_id})
            counts["failed"] += 1
            continue
        counts["kept"] += 1
    return counts


async def list_kept(
    session: AsyncSession, crisis: Crisis, *, limit: int, cursor: str | None
) -> Page[KeptSitrep]:
    """The reports kept of the crisis, newest day first (a day's languages together)."""
    # Not their files: a list names them by their links, fetched one at a time.
    query = (
        select(KeptSitrep)
        .where(KeptSitrep.crisis_id == crisis.id)
        .options(defer(KeptSitrep.pdf), defer(KeptSitrep.html))  # type: ignore[arg-type]
    )
    key = [col(KeptSitrep.day), col(KeptSitrep.id)]
    return await paginate(session, query, key=key, limit=limit, cursor=cursor, descending=True)


async def get_kept(session: AsyncSession, crisis: Crisis, day: date, language: str) -> KeptSitrep:
    """The report kept of ``day`` in ``language`` (422 for a language not offered), or 404."""
    texts(language)
    found = (
        await session.exec(
            select(KeptSitrep).where(
                KeptSitrep.crisis_id == crisis.id,
                KeptSitrep.day == day,
                KeptSitrep.language == language,
            )
        )
    ).first()
    if found is None:
        raise NotFound(f"No situation report of {day.isoformat()} in {language!r} is kept")
    return found


def days_of(kept: Sequence[KeptSitrep]) -> list[tuple[date, list[KeptSitrep]]]:
    """Kept reports grouped by day, in the order given (English first within a day)."""
    out: dict[date, list[KeptSitrep]] = {}
    for row in kept:
        out.setdefault(row.day, []).append(row)
    return [
        (d, sorted(rows, key=lambda r: (r.language != "en", r.language))) for d, rows in out.items()
    ]
