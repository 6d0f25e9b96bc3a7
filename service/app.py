"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match, Route

from geo.admin import AdminAreas
from integrations.safe_url import system_resolver
from service import __version__, migrate
from service.advisories.router import router as advisories_router
from service.alerts.router import router as alerts_router
from service.audit.router import router as audit_router
from service.auth.dependencies import check_every_route_is_guarded
from service.auth.limits import Limits
from service.auth.router import router as tokens_router
from service.console.site import install_console
from service.crises.playbooks_router import router as playbooks_router
from service.crises.router import router as crises_router
from service.db import make_engine, make_sessionmaker
from service.directory.router import router as directory_router
from service.docs import install_docs
from service.docs import router as docs_router
from service.errors import install_error_handlers
from service.exports.router import router as exports_router
from service.exposure.index import RegisterIndex
from service.exposure.router import router as exposure_router
from service.family_links.pages import router as safe_and_well_page
from service.family_links.router import router as family_links_router
from service.feeds.config import load_feeds
from service.geowork import GeometryWorkers
from service.health import router as health_router
from service.idempotency import IdempotencyMiddleware
from service.messaging.router import router as messaging_router
from service.metrics import install_metrics
from service.observability import RequestContextMiddleware, configure_logging
from service.openapi import declare_answers, install_openapi
from service.registry.locate import LazyLocator
from service.registry.protect import Protector
from service.registry.ratelimit import TokenBuckets
from service.registry.router import router as registry_router
from service.repatriation.router import router as repatriation_router
from service.settings import Settings, get_settings
from service.tasks.router import router as tasks_router
from service.users.pages import router as sign_in_router
from service.users.router import router as users_router
from service.webhooks.router import router as webhooks_router
from service.welfare.router import router as welfare_router

log = logging.getLogger("lifeline.app")

API_PREFIX = "/api/v1"


#: Every router under ``/api/v1``. Routes are guarded per router, and a test checks that the
#: OpenAPI document lists no API path outside them.
DOMAIN_ROUTERS: tuple[APIRouter, ...] = (
    directory_router,
    tokens_router,
    users_router,
    audit_router,
    registry_router,
    exposure_router,
    alerts_router,
    crises_router,
    playbooks_router,
    tasks_router,
    webhooks_router,
    welfare_router,
    messaging_router,
    repatriation_router,
    family_links_router,
    advisories_router,
    exports_router,
)


def api_routes() -> list[tuple[str, APIRoute]]:
    """(full path, route) of every API route."""
    found = []
    for router in DOMAIN_ROUTERS:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                raise TypeError(f"{route!r}: domain routers hold plain API routes only")
            found.append((API_PREFIX + route.path, route))
    return found


async def _build_then_follow(index: RegisterIndex, interval_s: float) -> None:
    try:
        await index.build()
    except Exception:
        # No register yet (migrations not run): readiness says so; keep trying.
        log.exception("exposure index could not be built; retrying")
        while not index.ready.is_set():
            await asyncio.sleep(interval_s)
            try:
                await index.build()
            except Exception:
                log.warning("exposure index still not built")
    await index.follow(interval_s)


def route_paths(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(path, method) of every route of ``routes``, through the routers included in them."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from route_paths(included.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif isinstance(route, Route | APIRoute):
            for method in sorted(route.methods or {"GET"}):
                yield prefix + route.path, method


def prepare_routes(app: FastAPI) -> int:
    """Match a request of every route once, so that FastAPI prepares them all now; the number
    of routes matched. Any value fills a path parameter: only the path's shape is matched."""
    matched = 0
    for path, method in route_paths(app.router.routes):
        scope = {
            "type": "http",
            "path": re.sub(r"\{[^}]+\}", "x", path),
            "method": method,
            "root_path": "",
            "headers": [],
        }
        for route in app.router.routes:
            if route.matches(scope)[0] == Match.FULL:
                matched += 1
                break
    return matched


def create_app(settings: Settings | None = None, *, configure_logs: bool = True) -> FastAPI:
    """Build the application. The engine is made in the lifespan, one per process."""
    settings = settings or get_settings()
    if configure_logs:
        configure_logging(settings.log_level, json_lines=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(
            settings.database_url, statement_timeout_s=settings.db_statement_timeout_s or None
        )
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        if settings.migrate_on_start:
            # On an engine of its own, without the API's statement deadline: a migration that
            # builds an index over the register may rightly take longer than a request.
            migrating = make_engine(settings.database_url)
            try:
                await migrate.upgrade(migrating)
            finally:
                await migrating.dispose()
        app.state.http = httpx.AsyncClient(follow_redirects=True, timeout=30.0)
        # The boundaries, read before the first request rather than under the GIL during it.
        await asyncio.to_thread(AdminAreas.load)
        # The same for the routes: FastAPI prepares a router's routes at the first request that
        # reaches it, on the event loop (about 0.4 s for all of them).
        await asyncio.to_thread(prepare_routes, app)
        index = RegisterIndex(engine, cell_deg=settings.index_cell_deg)
        app.state.register_index = index
        background = [
            asyncio.create_task(
                _build_then_follow(index, settings.index_refresh_s), name="exposure-index"
            )
        ]
        if settings.sends_in_api:
            from service.worker import loop_jobs, message_jobs

            background.append(
                asyncio.create_task(
                    loop_jobs(engine, message_jobs(settings, engine)), name="messages"
                )
            )
        log.info("lifeline started", extra={"env": settings.env.value})
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await app.state.http.aclose()
            await engine.dispose()
            app.state.geometry.shutdown()

    app = FastAPI(
        title="Lifeline",
        version=__version__,
        summary="Crisis response coordination for migrant workers",
        description=(
            "Which registered migrant workers are in a hazard zone, of which nationalities, and "
            "what each embassy, national society and ministry must do about it. Errors are RFC "
            "9457 problem details; every response carries an `X-Request-ID`."
        ),
        lifespan=lifespan,
        # Served by ``install_docs`` from the deployment's own files, not from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.geometry = GeometryWorkers(
        deadline_s=settings.geometry_deadline_s, threads=settings.geometry_threads
    )
    app.state.feeds = load_feeds(settings.feeds_file, reliefweb_appname=settings.reliefweb_appname)
    app.state.protector = Protector.from_settings(settings)
    app.state.locator = LazyLocator()
    #: How the API resolves the hosts of URLs partners give (tests put a table here).
    app.state.resolver = system_resolver
    app.state.people_lists = TokenBuckets(
        rate=settings.people_list_rate, burst=settings.people_list_burst
    )
    #: Requests per token and per address, failed authentications per address.
    app.state.limits = Limits.from_settings(settings)
    app.state.safe_well_searches = TokenBuckets(
        rate=settings.safe_well_search_rate, burst=settings.safe_well_search_burst
    )
    install_error_handlers(app)
    app.include_router(health_router)
    install_docs(app)
    # Each domain router straight into the app: a router nested in another costs a level of
    # matching on every request.
    for router in DOMAIN_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    # The console's sign-in pages: HTML, outside the API and its document.
    app.include_router(sign_in_router)
    app.include_router(safe_and_well_page)
    check_every_route_is_guarded(api_routes())
    install_console(app, settings)
    declare_answers((health_router, docs_router, *DOMAIN_ROUTERS))
    install_openapi(app)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        served_over_https=settings.served_over_https,
    )
    install_metrics(app)  # last: its middleware is the outermost, and times the others too
    return app
