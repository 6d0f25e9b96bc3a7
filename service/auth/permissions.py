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
    AUDIT_READ = "audit:read"


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
    Permission.AUDIT_READ: frozenset({Role.ADMIN}),
}


def allowed(role: Role, permission: Permission) -> bool:
    return role is Role.ADMIN or role in GRANTS[permission]
