"""Every table, imported in one place so the metadata (and Alembic) sees them all."""

from service.advisories.models import Advisory
from service.alerts.models import AlertAlias, AlertPush, AlertRecord, AlertVersion, FeedState
from service.audit.models import AuditEvent, AuditLink
from service.auth.models import ApiToken
from service.crises.models import Crisis, CrisisAlert, CrisisEvent, CrisisZone, ExposureSnapshot
from service.db import metadata
from service.directory.models import Organization
from service.exports.models import KeptSitrep
from service.family_links.models import (
    FamilyContact,
    ListingKey,
    NameIndexCursor,
    RedCrossMessage,
    SafeWellListing,
    TracingCandidate,
    TracingEvent,
    TracingRequest,
    WorkerNameKey,
)
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
    RepatriationRules,
    Seat,
)
from service.tasks.models import Task, TaskChange, TaskComment, TaskHandOff
from service.users.models import SignInFailure, User, UserSession
from service.webhooks.models import OutboxEvent, WebhookDelivery, WebhookSubscription
from service.welfare.models import WelfareCheck, WelfareEvent, WelfareStatus

__all__ = [
    "Advisory",
    "AlertAlias",
    "AlertPush",
    "AlertRecord",
    "AlertVersion",
    "ApiToken",
    "AuditEvent",
    "AuditLink",
    "CaseEvent",
    "Crisis",
    "CrisisAlert",
    "CrisisEvent",
    "CrisisZone",
    "ExposureSnapshot",
    "FamilyContact",
    "FeedState",
    "Fund",
    "FundEntry",
    "IdempotentResponse",
    "InboundMessage",
    "KeptSitrep",
    "Leg",
    "ListingKey",
    "Movement",
    "NameIndexCursor",
    "Organization",
    "OutboundMessage",
    "OutboxEvent",
    "PhoneStop",
    "PopulationGroup",
    "RedCrossMessage",
    "RegisterChange",
    "RepatriationCase",
    "RepatriationRules",
    "SafeWellListing",
    "Seat",
    "SignInFailure",
    "Task",
    "TaskChange",
    "TaskComment",
    "TaskHandOff",
    "TracingCandidate",
    "TracingEvent",
    "TracingRequest",
    "User",
    "UserSession",
    "WebhookDelivery",
    "WebhookSubscription",
    "WelfareCheck",
    "WelfareEvent",
    "WelfareStatus",
    "Worker",
    "WorkerNameKey",
    "metadata",
]
