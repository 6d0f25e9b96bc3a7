"""Advisories: a version per change, the words checked, the CAP chain kept."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from service.advisories.models import Advisory, AdvisoryStatus, AdvisoryType
from service.advisories.schemas import AdvisoryCreate
from service.advisories.words import forbidden_in
from service.auth.principal import Principal
from service.changes import record_change, who
from service.crises.models import Crisis, Phase
from service.errors import Conflict, InvalidInput, NotFound

#: CAP writes times to the second with an offset, never ``Z``.
CAP_TIME = "%Y-%m-%dT%H:%M:%S+00:00"


def cap_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime(CAP_TIME)


def reference(advisory: Advisory) -> str:
    """``sender,identifier,sent``: how a later CAP message names this one."""
    return f"{advisory.sender},{advisory.identifier},{cap_time(advisory.sent)}"


def check_words(data: AdvisoryCreate) -> None:
    """A 422 naming every text that carries a forbidden word."""
    errors: list[dict[str, Any]] = []
    for language, text in data.texts.items():
        for field in ("headline", "description", "instruction"):
            found = forbidden_in(getattr(text, field))
            if found:
                errors.append(
                    {
                        "loc": ["body", "texts", language, field],
                        "msg": f"an advisory never says {', '.join(map(repr, found))}",
                    }
                )
    found = forbidden_in(data.contact)
    if found:
        errors.append({"loc": ["body", "contact"], "msg": f"never says {found[0]!r}"})
    if "en" not in data.texts:
        errors.append({"loc": ["body", "texts", "en"], "msg": "English is always given"})
    if errors:
        raise InvalidInput("The advisory cannot be sent as written", errors=errors)


async def versions(session: AsyncSession, crisis_id: str) -> Sequence[Advisory]:
    """Every version of the crisis's advisory, oldest first."""
    query = select(Advisory).where(Advisory.crisis_id == crisis_id).order_by(col(Advisory.version))
    return (await session.exec(query)).all()


async def get_version(session: AsyncSession, crisis_id: str, version: int | None) -> Advisory:
    """The version asked for, else the latest; the 404 when there is none."""
    found = await versions(session, crisis_id)
    if version is not None:
        found = [a for a in found if a.version == version]
    if not found:
        raise NotFound(
            "No advisory for this crisis"
            if version is None
            else f"No version {version} of this crisis's advisory"
        )
    return found[-1]


async def issue(
    session: AsyncSession,
    crisis: Crisis,
    *,
    actor: Principal,
    data: AdvisoryCreate | None,
    domain: str,
) -> Advisory:
    """The next version: an Alert first, an Update after, a Cancel when ``data`` is None (the
    last texts, withdrawn). Nothing follows a Cancel."""
    earlier = list(await versions(session, crisis.id))
    if earlier and earlier[-1].msg_type == AdvisoryType.CANCEL:
        raise Conflict("The advisory was cancelled: nothing follows a Cancel")
    if data is None:
        if not earlier:
            raise Conflict("No advisory to cancel")
        msg_type = AdvisoryType.CANCEL
        texts, contact, web = earlier[-1].texts, earlier[-1].contact, earlier[-1].web
    else:
        check_words(data)
        msg_type = AdvisoryType.UPDATE if earlier else AdvisoryType.ALERT
        texts = {lang: t.model_dump() for lang, t in data.texts.items()}
        contact, web = data.contact, str(data.web) if data.web else None
    version = earlier[-1].version + 1 if earlier else 1
    advisory = Advisory(
        crisis_id=crisis.id,
        version=version,
        status=AdvisoryStatus.EXERCISE if crisis.exercise else AdvisoryStatus.ACTUAL,
        msg_type=msg_type,
        identifier=f"{domain}/advisory.{crisis.id}.{version}",
        sender=domain,
        sent=datetime.now(UTC).replace(microsecond=0),
        texts=texts,
        contact=contact,
        web=web,
        references=[reference(a) for a in earlier],
        created_by=who(actor),
    )
    session.add(advisory)
    await record_change(
        session,
        actor=actor,
        crisis_id=crisis.id,
        exercise=crisis.exercise,
        kind="advisory_sent",
        detail={
            "advisory_id": advisory.id,
            "version": version,
            "msg_type": msg_type.value,
            "languages": ",".join(sorted(texts)),
        },
    )
    await session.flush()
    return advisory


async def latest_of_open_crises(session: AsyncSession) -> list[tuple[Crisis, Advisory]]:
    """The latest advisory of every crisis not closed, newest first."""
    query = (
        select(Crisis, Advisory)
        .join(Advisory, col(Advisory.crisis_id) == col(Crisis.id))
        .where(col(Crisis.phase) != Phase.CLOSED.value)
        .order_by(col(Advisory.sent).desc(), col(Advisory.version).desc())
    )
    latest: dict[str, tuple[Crisis, Advisory]] = {}
    for crisis, advisory in (await session.exec(query)).all():
        held = latest.get(crisis.id)
        if held is None or held[1].version < advisory.version:
            latest[crisis.id] = (crisis, advisory)
    return sorted(latest.values(), key=lambda pair: pair[1].sent, reverse=True)
