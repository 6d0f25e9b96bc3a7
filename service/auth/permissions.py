"""Roles, permissions, and which role holds which permission: the whole policy in one table."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    CONSULAR_OFFICER = "consular_officer"
    SOCIETY_RESPONDER = "society_responder"
    VIEWER = "viewer"
    INTEGRATION = "integration"


class Permission(enum.StrEnum):
    DIRECTORY_READ = "directory:read"
    DIRECTORY_WRITE = "directory:write"
    TOKENS_MANAGE = "tokens:manage"
    #: People's accounts: list, create, disable (``service.users``).
    USERS_MANAGE = "users:manage"
    AUDIT_READ = "audit:read"
    #: Personal data of workers, scoped further by need-to-know (service/registry/access.py).
    WORKERS_READ = "workers:read"
    WORKERS_WRITE = "workers:write"
    POPULATIONS_READ = "populations:read"
    POPULATIONS_WRITE = "populations:write"
    #: Aggregate exposure of a zone (counts, rounded outside need-to-know).
    EXPOSURE_READ = "exposure:read"
    #: Named lists of the workers in a zone, drawn by hand or a crisis's own (need-to-know applies).
    EXPOSURE_LIST = "exposure:list"
    ALERTS_READ = "alerts:read"
    #: Push CAP messages in (integrations).
    ALERTS_PUSH = "alerts:push"
    #: Declare an alert by hand.
    ALERTS_DECLARE = "alerts:declare"
    FEEDS_READ = "feeds:read"
    FEEDS_POLL = "feeds:poll"
    TASKS_READ = "tasks:read"
    TASKS_WRITE = "tasks:write"
    TASKS_CREATE = "tasks:create"
    WEBHOOKS_MANAGE = "webhooks:manage"
    CRISES_READ = "crises:read"
    #: Declare crises, change their phase, alert level and zones.
    CRISES_WRITE = "crises:write"
    #: Welfare statuses of workers in a crisis (need-to-know applies; counts suppressed).
    WELFARE_READ = "welfare:read"
    #: Record a welfare outcome (``deceased`` further restricted: service/welfare/service.py).
    WELFARE_WRITE = "welfare:write"
    #: Start, follow and cancel welfare checks (messages to the exposed workers one may contact).
    WELFARE_CHECK = "welfare:check"
    #: Read the messages workers sent that nobody could read with certainty, and record what
    #: they say (need-to-know applies: the workers one may read).
    MESSAGES_READ = "messages:read"
    #: Repatriation cases (of the workers one may read), movements, manifests (names for those
    #: who may read the person), reconciliation.
    REPATRIATION_READ = "repatriation:read"
    #: Open and move cases, record consent, organise movements, assign seats, check boarding.
    REPATRIATION_WRITE = "repatriation:write"
    #: Push messages workers sent, received by a messaging platform of the deployment's partners.
    MESSAGES_PUSH = "messages:push"
    #: Tracing requests (Restoring Family Links): national societies' tracing officers, each
    #: seeing the requests of their side of the border, and a located person's own consular
    #: officers once that person agreed (``service.family_links``).
    TRACING = "tracing"
    #: List a worker recorded as safe as "safe and well", with their agreement.
    SAFE_WELL_LIST = "safe_well:list"
    #: Search the safe-and-well listings as a relative does (a hotline's or a society's app;
    #: the public page of the deployment needs no account).
    SAFE_WELL_SEARCH = "safe_well:search"


_EVERYONE_BUT_INTEGRATIONS = {
    Role.ADMIN,
    Role.COORDINATOR,
    Role.CONSULAR_OFFICER,
    Role.SOCIETY_RESPONDER,
    Role.VIEWER,
}

#: Who may do what. Scoping inside a permission (whose nationals, which country) is done by
#: the domain services on top of this table, and answers 404 for records out of scope.
GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.DIRECTORY_READ: frozenset(_EVERYONE_BUT_INTEGRATIONS),
    Permission.DIRECTORY_WRITE: frozenset({Role.ADMIN}),
    Permission.TOKENS_MANAGE: frozenset({Role.ADMIN}),
    Permission.USERS_MANAGE: frozenset({Role.ADMIN}),
    Permission.AUDIT_READ: frozenset({Role.ADMIN}),
    Permission.WORKERS_READ: frozenset(
        {Role.ADMIN, Role.COORDINATOR, Role.CONSULAR_OFFICER, Role.SOCIETY_RESPONDER}
    ),
    Permission.WORKERS_WRITE: frozenset(
        {Role.ADMIN, Role.COORDINATOR, Role.CONSULAR_OFFICER, Role.SOCIETY_RESPONDER}
    ),
    Permission.POPULATIONS_READ: frozenset(_EVERYONE_BUT_INTEGRATIONS),
    Permission.POPULATIONS_WRITE: frozenset({Role.ADMIN, Role.COORDINATOR, Role.CONSULAR_OFFICER}),
    Permission.EXPOSURE_READ: frozenset(_EVERYONE_BUT_INTEGRATIONS),
    Permission.EXPOSURE_LIST: frozenset(
        {Role.ADMIN, Role.CONSULAR_OFFICER, Role.SOCIETY_RESPONDER}
    ),
    Permission.ALERTS_READ: frozenset(Role),
    Permission.ALERTS_PUSH: frozenset({Role.ADMIN, Role.COORDINATOR, Role.INTEGRATION}),
    Permission.ALERTS_DECLARE: frozenset({Role.ADMIN, Role.COORDINATOR}),
    Permission.FEEDS_READ: frozenset({Role.ADMIN, Role.COORDINATOR, Role.INTEGRATION, Role.VIEWER}),
    Permission.FEEDS_POLL: frozenset({Role.ADMIN, Role.COORDINATOR, Role.INTEGRATION}),
    Permission.CRISES_READ: frozenset(_EVERYONE_BUT_INTEGRATIONS),
    Permission.TASKS_READ: frozenset(
        {Role.ADMIN, Role.COORDINATOR, Role.CONSULAR_OFFICER, Role.SOCIETY_RESPONDER}
    ),
    Permission.TASKS_WRITE: frozenset(
        {Role.ADMIN, Role.COORDINATOR, Role.CONSULAR_OFFICER, Role.SOCIETY_RESPONDER}
    ),
    Permission.TASKS_CREATE: frozenset({Role.ADMIN, Role.COORDINATOR}),
    Permission.WEBHOOKS_MANAGE: frozenset(
        {
            Role.ADMIN,
            Role.COORDINATOR,
            Role.CONSULAR_OFFICER,
            Role.SOCIETY_RESPONDER,
            Role.INTEGRATION,
        }
    ),
    Permission.CRISES_WRITE: frozenset({Role.ADMIN, Role.COORDINATOR}),
    Permission.WELFARE_READ: frozenset(
        {Role.ADMIN, Role.COORDINATOR, Role.CONSULAR_OFFICER, Role.SOCIETY_RESPONDER}
    ),
    Permission.WELFARE_WRITE: frozenset(
        {Role.ADMIN, Role.COORDINATOR, Role.CONSULAR_OFFICER, Role.SOCIETY_RESPONDER}
    ),
    Permission.WELFARE_CHECK: frozenset(
        {Role.ADMIN, Role.COORDINATOR, Role.CONSULAR_OFFICER, Role.SOCIETY_RESPONDER}
    ),
    Permission.MESSAGES_READ: frozenset(
        {Role.ADMIN, Role.COORDINATOR, Role.CONSULAR_OFFICER, Role.SOCIETY_RESPONDER}
    ),
    Permission.MESSAGES_PUSH: frozenset({Role.ADMIN, Role.INTEGRATION}),
    Permission.REPATRIATION_READ: frozenset(
        {Role.ADMIN, Role.COORDINATOR, Role.CONSULAR_OFFICER, Role.SOCIETY_RESPONDER}
    ),
    Permission.REPATRIATION_WRITE: frozenset({Role.ADMIN, Role.COORDINATOR, Role.CONSULAR_OFFICER}),
    Permission.TRACING: frozenset({Role.ADMIN, Role.SOCIETY_RESPONDER, Role.CONSULAR_OFFICER}),
    Permission.SAFE_WELL_LIST: frozenset(
        {Role.ADMIN, Role.COORDINATOR, Role.CONSULAR_OFFICER, Role.SOCIETY_RESPONDER}
    ),
    Permission.SAFE_WELL_SEARCH: frozenset(Role),
}
assert set(GRANTS) == set(Permission), "every permission needs a line in GRANTS"


def allowed(role: Role, permission: Permission) -> bool:
    return role is Role.ADMIN or role in GRANTS[permission]


#: Roles whose tokens read workers' personal data, or issue tokens that do (an admin token of an
#: organisation is the key to its other credentials). A credential with one of these roles is
#: issued by the organisation's own administrators (docs/decisions/0007).
PERSONAL_DATA_ROLES: frozenset[Role] = frozenset(
    GRANTS[Permission.WORKERS_READ]
    | GRANTS[Permission.EXPOSURE_LIST]
    | GRANTS[Permission.TOKENS_MANAGE]
    | GRANTS[Permission.USERS_MANAGE]
    | {Role.ADMIN}
)
