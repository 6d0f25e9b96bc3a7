"""The console's sign-in pages: e-mail and password, the second factor, signing out.

Server-rendered HTML (``service/users/templates/``), no script. Every form carries a CSRF token:
before sign-in a double-submit one (a cookie of its own and a form field), after it the
session's (``service.users.service.csrf_token``).
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from service.auth.limits import count_failure, retry_after, throttle_wait
from service.crypto import Sealer
from service.db import utcnow
from service.deps import SessionDep
from service.directory.models import Organization
from service.errors import InvalidInput
from service.settings import Environment as Env
from service.settings import Settings
from service.users import passwords, service, totp
from service.users.models import User
from service.users.passwords import MIN_LENGTH
from service.users.service import SESSION_COOKIE, LiveSession

router = APIRouter(prefix="/console", include_in_schema=False)

#: The double-submit CSRF token of the sign-in form, before there is a session.
SIGN_IN_COOKIE = "lifeline_sign_in"
SIGNED_IN_HOME = "/console/"
SIGN_IN = "/console/sign-in"
SECOND_FACTOR = "/console/sign-in/second-factor"
NEW_PASSWORD = "/console/sign-in/new-password"  # noqa: S105 - a page, not a secret
#: One message for a wrong e-mail, a wrong password, a disabled account and a pause: the answer
#: says nothing of whether an account exists.
REFUSED = (
    "Signing in did not work: the e-mail, password or code is not right, or signing in is "
    "paused for a while after too many attempts."
)
EXPIRED = "This form has expired. Please try again."

_templates = Environment(
    loader=PackageLoader("service.users", "templates"), autoescape=select_autoescape(["html"])
)

Text = Annotated[str, Form(max_length=320)]
#: Where to go once signed in: the console page that sent the person to sign in.
NextField = Annotated[str, Form(alias="next", max_length=2000)]


def safe_next(value: str | None) -> str | None:
    """``value`` if it is a console page of this site to return to after signing in, else None
    (the console's home). A path only: another host (``//host``, a scheme, a backslash that a
    browser reads as a slash) is no place to send a person who just signed in, and the sign-in
    pages themselves would send them round again."""
    if not value or len(value) > 2000 or "\\" in value or not value.isprintable():
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/console/"):
        return None
    if parts.path.startswith((SIGN_IN, "/console/sign-out")):
        return None
    return value


def _with_next(url: str, then: str | None) -> str:
    return f"{url}?next={quote(then, safe='')}" if then else url


def _page(name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    response = HTMLResponse(_templates.get_template(name).render(**context), status_code=status)
    # Codes, secrets and tokens are in these pages: never kept by a cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _sealer(request: Request) -> Sealer:
    sealer: Sealer = request.app.state.protector.sealer
    return sealer


def _code_key(request: Request) -> bytes:
    return passwords.code_key(_settings(request).blind_index_key)


def _secure(request: Request) -> bool:
    return _settings(request).env is not Env.DEVELOPMENT


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


def _with_session_cookie(response: Response, request: Request, token: str | None) -> Response:
    """The session cookie: HttpOnly, SameSite, Secure outside development; None clears it."""
    if token is None:
        response.delete_cookie(
            SESSION_COOKIE, path="/", secure=_secure(request), httponly=True, samesite="lax"
        )
    else:
        response.set_cookie(
            SESSION_COOKIE, token, path="/", secure=_secure(request), httponly=True, samesite="lax"
        )
    return response


def _session_csrf(request: Request, live: LiveSession) -> str:
    return service.csrf_token(live.row.token_hash, _settings(request).blind_index_key)


def _sign_in_form(
    request: Request,
    *,
    status: int = 200,
    error: str | None = None,
    email: str = "",
    then: str | None = None,
) -> Response:
    token = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)
    response = _page(
        "sign_in.html",
        status=status,
        title="Sign in",
        csrf_token=token,
        email=email,
        error=error,
        then=then,
    )
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=3600,
        path=SIGN_IN,
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )
    return response


async def _refuse(
    request: Request,
    session: SessionDep,
    *,
    keys: list[str],
    user: User | None,
    step: str,
    paused: bool,
) -> dict[str, object]:
    """Count (unless already paused) and audit a refused attempt; the audit's detail."""
    failures = None if paused else await service.count_failure(session, keys)
    detail: dict[str, object] = {"step": step, "reason": "paused" if paused else "refused"}
    if failures is not None:
        detail["failures"] = failures
    org = await session.get(Organization, user.organization_id) if user else None
    service.audit_attempt(
        session, user=user, org=org, action="user.sign_in", outcome="denied", detail=detail
    )
    return detail


def _retry_after(until: datetime) -> dict[str, str]:
    return {"Retry-After": str(max(1, int((until - utcnow()).total_seconds()) + 1))}


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    return _sign_in_form(request, then=safe_next(request.query_params.get("next")))


@router.post("/sign-in")
async def sign_in(
    request: Request,
    session: SessionDep,
    email: Text = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next_page: NextField = "",
) -> Response:
    then = safe_next(next_page)
    expected = request.cookies.get(SIGN_IN_COOKIE)
    if not expected or not secrets.compare_digest(expected, csrf_token):
        return _sign_in_form(request, status=403, error=EXPIRED, email=email, then=then)
    wait = throttle_wait(request)
    if wait:
        # Too many failed authentications from this address (any of them, tokens too): refused
        # before the account is looked up, counted but not audited one by one.
        response = _sign_in_form(request, status=429, error=REFUSED, email=email, then=then)
        response.headers.update(retry_after(wait))
        return response
    secret = _settings(request).blind_index_key
    keys = service.failure_keys(email=email, address=_address(request), secret=secret)
    until = await service.paused_until(session, keys)
    if until is not None:
        user = await service.user_by_email(session, email)
        await _refuse(request, session, keys=keys, user=user, step="password", paused=True)
        await count_failure(request, "sign_in", session=session)
        response = _sign_in_form(request, status=429, error=REFUSED, email=email, then=then)
        response.headers.update(_retry_after(until))
        return response
    found = await service.check_password(session, email=email, password=password)
    if found is None:
        user = await service.user_by_email(session, email)
        await _refuse(request, session, keys=keys, user=user, step="password", paused=False)
        await count_failure(request, "sign_in", session=session)
        return _sign_in_form(request, status=400, error=REFUSED, email=email, then=then)
    user, _ = found
    await service.clear_failures(session, keys[0])
    settings = _settings(request)
    opened = await service.open_session(
        session,
        user=user,
        stage=service.SECOND_FACTOR if user.totp_enrolled_at else service.ENROL,
        idle_s=settings.session_idle_s,
        absolute_s=settings.session_absolute_s,
    )
    response = _with_session_cookie(
        _redirect(_with_next(SECOND_FACTOR, then)), request, opened.token
    )
    response.delete_cookie(SIGN_IN_COOKIE, path=SIGN_IN)
    return response


async def _pending(request: Request, session: SessionDep, *stages: str) -> LiveSession | None:
    """The session half-way through signing in, at one of ``stages``, if the request has one."""
    live = await service.find_session(session, request.cookies.get(SESSION_COOKIE) or "")
    if live is None or live.row.stage not in stages:
        return None
    return live


CODE_STAGES = (service.SECOND_FACTOR, service.ENROL)


def _code_form(
    request: Request,
    live: LiveSession,
    *,
    status: int = 200,
    error: str | None = None,
    then: str | None = None,
) -> Response:
    enrol = live.row.stage == service.ENROL
    context: dict[str, Any] = {}
    if enrol:
        secret = service.start_enrolment(live.user, _sealer(request))
        context = {"secret": secret, "uri": totp.otpauth_uri(secret, account=live.user.email)}
    return _page(
        "second_factor.html",
        status=status,
        title="Set up your second factor" if enrol else "Second factor",
        enrol=enrol,
        csrf_token=_session_csrf(request, live),
        error=error,
        then=then,
        **context,
    )


@router.get("/sign-in/second-factor")
async def second_factor_page(request: Request, session: SessionDep) -> Response:
    live = await _pending(request, session, *CODE_STAGES)
    if live is None:
        return _redirect(SIGN_IN)
    response = _code_form(request, live, then=safe_next(request.query_params.get("next")))
    session.add(live.user)  # a first sign-in keeps the secret it was shown
    return response


@router.post("/sign-in/second-factor")
async def second_factor(
    request: Request,
    session: SessionDep,
    code: Annotated[str, Form(max_length=80)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next_page: NextField = "",
) -> Response:
    then = safe_next(next_page)
    live = await _pending(request, session, *CODE_STAGES)
    if live is None:
        return _redirect(SIGN_IN)
    if not secrets.compare_digest(_session_csrf(request, live), csrf_token):
        return _code_form(request, live, status=403, error=EXPIRED, then=then)
    wait = throttle_wait(request)
    if wait:
        response = _code_form(request, live, status=429, error=REFUSED, then=then)
        response.headers.update(retry_after(wait))
        return response
    user = live.user
    secret = _settings(request).blind_index_key
    keys = service.failure_keys(email=user.email, address=_address(request), secret=secret)
    until = await service.paused_until(session, keys)
    if until is not None:
        await _refuse(request, session, keys=keys, user=user, step="second_factor", paused=True)
        await count_failure(request, "second_factor", session=session)
        response = _code_form(request, live, status=429, error=REFUSED, then=then)
        response.headers.update(_retry_after(until))
        return response
    factor = service.check_code(
        user, code, sealer=_sealer(request), code_key=_code_key(request), unix_s=time.time()
    )
    if factor is None:
        await _refuse(request, session, keys=keys, user=user, step="second_factor", paused=False)
        await count_failure(request, "second_factor", session=session)
        return _code_form(request, live, status=400, error=REFUSED, then=then)
    await service.clear_failures(session, keys[0])
    return await _signed_in(request, session, live, factor=factor, then=then)


async def _signed_in(
    request: Request, session: SessionDep, live: LiveSession, *, factor: str, then: str | None
) -> Response:
    """Both factors given: the half-way session ends and a new one (a new token: what was
    known before signing in is worth nothing after) begins; first, if the password was made
    for the person, one in which they choose their own."""
    user = live.user
    enrolling = live.row.stage == service.ENROL
    new_password = user.password_change_required
    opened = await _next_session(
        request, session, live, service.NEW_PASSWORD if new_password else service.SIGNED_IN
    )
    user.last_sign_in_at = utcnow()
    codes = service.finish_enrolment(user, code_key=_code_key(request)) if enrolling else None
    session.add(user)
    detail: dict[str, object] = {"factor": factor, "session_id": opened.row.id}
    if factor == "recovery":
        detail["recovery_codes_left"] = len(user.recovery_codes)
    service.audit_attempt(
        session,
        user=user,
        org=live.organization,
        action="user.sign_in",
        outcome="allowed",
        detail=detail,
    )
    after = _with_next(NEW_PASSWORD, then) if new_password else then or SIGNED_IN_HOME
    if codes is None:
        return _with_session_cookie(_redirect(after), request, opened.token)
    page = _page(
        "recovery_codes.html", title="Your recovery codes", codes=codes, then=after, error=None
    )
    return _with_session_cookie(page, request, opened.token)


async def _next_session(
    request: Request, session: SessionDep, live: LiveSession, stage: str
) -> service.OpenedSession:
    settings = _settings(request)
    await service.end_session(session, live.row)
    return await service.open_session(
        session,
        user=live.user,
        stage=stage,
        idle_s=settings.session_idle_s,
        absolute_s=settings.session_absolute_s,
    )


def _password_form(
    request: Request,
    live: LiveSession,
    *,
    status: int = 200,
    error: str | None = None,
    then: str | None = None,
) -> Response:
    return _page(
        "new_password.html",
        status=status,
        title="Choose your password",
        csrf_token=_session_csrf(request, live),
        minimum=MIN_LENGTH,
        error=error,
        then=then,
    )


@router.get("/sign-in/new-password")
async def new_password_page(request: Request, session: SessionDep) -> Response:
    live = await _pending(request, session, service.NEW_PASSWORD)
    if live is None:
        return _redirect(SIGN_IN)
    return _password_form(request, live, then=safe_next(request.query_params.get("next")))


@router.post("/sign-in/new-password")
async def new_password(
    request: Request,
    session: SessionDep,
    password: Annotated[str, Form(max_length=200)] = "",
    confirm: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next_page: NextField = "",
) -> Response:
    """The person's own password in place of the one-time one; then the session opens."""
    then = safe_next(next_page)
    live = await _pending(request, session, service.NEW_PASSWORD)
    if live is None:
        return _redirect(SIGN_IN)
    if not secrets.compare_digest(_session_csrf(request, live), csrf_token):
        return _password_form(request, live, status=403, error=EXPIRED, then=then)
    if password != confirm:
        return _password_form(
            request, live, status=400, error="The two passwords differ.", then=then
        )
    try:
        await service.replace_password(
            session, actor=live.principal, user=live.user, password=password
        )
    except InvalidInput as refused:
        return _password_form(request, live, status=400, error=refused.detail, then=then)
    opened = await _next_session(request, session, live, service.SIGNED_IN)
    return _with_session_cookie(_redirect(then or SIGNED_IN_HOME), request, opened.token)


async def _sign_out_session(
    request: Request, session: SessionDep, csrf_field: str | None, csrf_header: str | None
) -> tuple[LiveSession | None, bool]:
    """The request's session, and whether it carries its CSRF token (form field or header)."""
    live = await service.find_session(session, request.cookies.get(SESSION_COOKIE) or "")
    given = csrf_header if csrf_header is not None else csrf_field
    ok = (
        live is not None
        and given is not None
        and secrets.compare_digest(_session_csrf(request, live), given)
    )
    return live, ok


CsrfField = Annotated[str | None, Form(alias="csrf_token", max_length=100)]
CsrfHeader = Annotated[str | None, Header(alias="X-CSRF-Token", max_length=100)]


async def _sign_out(
    request: Request,
    session: SessionDep,
    csrf: tuple[str | None, str | None],
    *,
    everywhere: bool,
) -> Response:
    """End this session, or every session of its person. Without its CSRF token nothing ends:
    a page elsewhere cannot sign anyone out."""
    live, ok = await _sign_out_session(request, session, *csrf)
    if live is not None and not ok:
        return _page("refused.html", status=403, title="Sign out", error=EXPIRED)
    if live is not None:
        detail: dict[str, object]
        if everywhere:
            ended = await service.end_sessions(session, user_id=live.user.id)
            action, detail = "user.sign_out_everywhere", {"sessions_ended": ended}
        else:
            await service.end_session(session, live.row)
            action, detail = "user.sign_out", {"session_id": live.row.id}
        service.audit_attempt(
            session,
            user=live.user,
            org=live.organization,
            action=action,
            outcome="allowed",
            detail=detail,
        )
    return _with_session_cookie(_redirect(SIGN_IN), request, None)


@router.post("/sign-out")
async def sign_out(
    request: Request,
    session: SessionDep,
    csrf_token: CsrfField = None,
    x_csrf_token: CsrfHeader = None,
) -> Response:
    """End this session."""
    return await _sign_out(request, session, (csrf_token, x_csrf_token), everywhere=False)


@router.post("/sign-out-everywhere")
async def sign_out_everywhere(
    request: Request,
    session: SessionDep,
    csrf_token: CsrfField = None,
    x_csrf_token: CsrfHeader = None,
) -> Response:
    """End every session of the person signed in, on every device."""
    return await _sign_out(request, session, (csrf_token, x_csrf_token), everywhere=True)
