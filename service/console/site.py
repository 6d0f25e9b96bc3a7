"""The console in the app: every section's pages, the static files, the security headers.

A domain adds its pages with a module of its own (``service/console/pages/<domain>.py``, which
exposes ``section``) and one line in ``SECTIONS``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from service.auth.dependencies import route_permission
from service.console.live import BoardWatch
from service.console.pages import (
    alerts,
    audit,
    crises,
    directory,
    family_links,
    messages,
    now,
    people_admin,
    register,
    repatriation,
    tasks,
    welfare,
)
from service.console.registry import Section
from service.console.render import STATIC, SecurityHeaders
from service.settings import Settings

SECTIONS: tuple[Section, ...] = (
    now.section,
    crises.section,
    tasks.section,
    register.section,
    alerts.section,
    directory.section,
    audit.section,
    people_admin.section,
    welfare.section,
    messages.section,
    repatriation.section,
    family_links.section,
)


def check_every_page_is_guarded(sections: tuple[Section, ...]) -> None:
    """Refuse to build an app with a console page that declares no permission."""
    unguarded = [
        route.path
        for section in sections
        for route in section.router.routes
        if isinstance(route, APIRoute) and route_permission(route) is None
    ]
    if unguarded:
        raise RuntimeError(f"Console pages without a permission: {', '.join(unguarded)}")


def install_console(app: FastAPI, settings: Settings) -> None:
    check_every_page_is_guarded(SECTIONS)
    app.state.console_sections = SECTIONS
    app.state.board_watch = BoardWatch(app.state)
    for section in SECTIONS:
        app.include_router(section.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_middleware(SecurityHeaders, tiles_url=settings.console_tiles_url)
