"""Every table, imported in one place so the metadata (and Alembic) sees them all."""

from service.alerts.models import AlertAlias, AlertPush, AlertRecord, AlertVersion, FeedState
from service.audit.models import AuditEvent
from service.auth.models import ApiToken
from service.crises.models import Crisis, CrisisAlert, CrisisEvent, CrisisZone, ExposureSnapshot
from service.db import metadata
from service.directory.models import Organization
from service.idempotency import IdempotentResponse
from service.messaging.models import InboundMessage, OutboundMessage, PhoneStop
from service.registry.models import PopulationGroup, RegisterChange, Worker
from service.repatriation.models import (
    CaseEvent,
    Fund,
    FundEntry,
    Leg,
    Movement,
    RepatriationCase,
    Seat,
)
from service.tasks.models import Task, TaskChange, TaskComment, TaskHandOff
from service.users.models import SignInFailure, User, UserSession
from service.webhooks.models import OutboxEvent, WebhookDelivery, WebhookSubscription
from service.welfare.models import WelfareCheck, WelfareEvent, WelfareStatus

__all__ = [
    "AlertAlias",
    "AlertPush",
    "AlertRecord",
    "AlertVersion",
    "ApiToken",
    "AuditEvent",
    "CaseEvent",
    "Crisis",
    "CrisisAlert",
    "CrisisEvent",
    "CrisisZone",
    "ExposureSnapshot",
    "FeedState",
    "Fund",
    "FundEntry",
    "IdempotentResponse",
    "InboundMessage",
    "Leg",
    "Movement",
    "Organization",
    "OutboundMessage",
    "OutboxEvent",
    "PhoneStop",
    "PopulationGroup",
    "RegisterChange",
    "RepatriationCase",
    "Seat",
    "SignInFailure",
    "Task",
    "TaskChange",
    "TaskComment",
    "TaskHandOff",
    "User",
    "UserSession",
    "WebhookDelivery",
    "WebhookSubscription",
    "WelfareCheck",
    "WelfareEvent",
    "WelfareStatus",
    "Worker",
    "metadata",
]
