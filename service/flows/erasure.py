"""Erasing a worker: the register's record and what other domains keep of what they said (the
welfare notes, what they said of their return and their family's number, their safe-and-well
listing and their family contacts) or owe them (the messages not sent yet), in one unit of work."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from service.auth.principal import Principal
from service.family_links.service import forget as forget_links
from service.messaging.service import cancel_pending
from service.registry.models import Worker
from service.registry.service import erase_worker as erase_record
from service.repatriation.service import forget as forget_cases
from service.welfare.service import forget_notes


async def forget_everywhere(session: AsyncSession, worker_ids: list[str]) -> None:
    """What every other domain forgets of workers just erased, by request or by retention: one
    list, so that a new domain's forgetting is written once."""
    await forget_notes(session, worker_ids)
    await forget_cases(session, worker_ids)
    await forget_links(session, worker_ids)
    await cancel_pending(session, worker_ids, reason="erased")


async def erase_worker(session: AsyncSession, *, actor: Principal, worker_id: str) -> Worker:
    """Erase the worker's personal data (``service.registry.service.erase_worker``, its rules and
    its 404), and what other domains keep of them (``forget_everywhere``)."""
    worker = await erase_record(session, actor=actor, worker_id=worker_id)
    await forget_everywhere(session, [worker.id])
    return worker
