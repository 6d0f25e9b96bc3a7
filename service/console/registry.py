"""The console's page registry: each domain's pages come as one ``Section`` from their own module.

A section is a router of pages and the entries it adds to the navigation. ``service.console.site``
lists the sections; a domain adds its pages with a module of its own and one line there, without
touching any other page (docs/decisions/0017-console.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fastapi import APIRouter

from service.auth.permissions import Permission, Role, allowed


@dataclass(frozen=True, slots=True)
class NavEntry:
    """A link of the navigation: shown to the roles that hold ``permission``, by ``order``."""

    path: str
    title: str
    permission: Permission
    order: int


@dataclass(frozen=True)
class Section:
    """A domain's pages: their router (``service.console.routing.console_router``) and their
    navigation entries."""

    router: APIRouter
    nav: Sequence[NavEntry] = field(default_factory=tuple)


def navigation(sections: Sequence[Section], role: Role) -> list[NavEntry]:
    """The entries of every section that ``role`` may open, in order."""
    entries = [e for s in sections for e in s.nav if allowed(role, e.permission)]
    return sorted(entries, key=lambda e: (e.order, e.title))
