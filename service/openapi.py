"""What the OpenAPI document says each operation may answer, derived from the routes themselves.

One walk over the app's routes (``declare_answers``) fills in every operation's problem answers
from what the route is made of: its dependencies say what they raise (``raises``), and the shape
of the route (a body, parameters, a path parameter, a write method) says the rest. What only a
domain function knows (a reference in the body that may not exist, a rate limit) the route
declares itself with ``responses=problems(...)``.
``tests/service/platform/test_openapi_contract.py`` checks the result against what the service
answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from service.errors import PROBLEM_JSON, TYPE_BASE

PROBLEM_REF = "#/components/schemas/Problem"
ANSWERS_ATTR = "__lifeline_answers__"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

#: Every problem status the service answers, and what it means.
DESCRIPTIONS: dict[int, str] = {
    400: "The body is malformed, or did not arrive whole (`body-incomplete`)",
    401: "No token, or one unknown or revoked (`unauthenticated`); see `WWW-Authenticate`",
    403: "The token's role may not do this, or not to this record (`forbidden`)",
    404: "No such record, or none you may see (`not-found`)",
    409: "Conflicts with the current state (`conflict`), or a concurrent write came first "
    "(`concurrent-write`, with `Retry-After`: nothing was written, send it again)",
    412: "The record changed since the version in `If-Match` (`precondition-failed`): read it "
    "again",
    413: "The body is over `LIFELINE_MAX_BODY_BYTES` (`payload-too-large`), declared or counted "
    "as it streamed",
    415: "The body is not of a media type this operation reads (`unsupported-media-type`)",
    422: "The input is not valid (`invalid-input`, `idempotency-key-reused`): `errors` lists each "
    "problem with its `loc` and `msg`",
    428: "This record is versioned: send `If-Match` with the version you read",
    429: "Too many requests from this token or this address, or too many failed "
    "authentications from this address (`rate-limited`); `Retry-After` says when to try again",
    500: "Something went wrong on our side (`internal-error`); quote the `request_id`",
    503: "The database is unreachable (`database-unavailable`: `Retry-After` says when to "
    "send it again; rarely, a write is made as the connection is lost), or the exposure index "
    "is still loading (`index-not-ready`); try again shortly",
}

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Sent again with the same request, the write answers as it did the first time "
    "instead of acting twice (kept 24 hours, per token); the same key with another request is a "
    "422 `idempotency-key-reused`",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


#: What ``If-Match`` takes: the ``ETag`` as sent (``"3"``), the bare version (``3``) or the weak
#: form (``W/"3"``). Required wherever it is taken: without it the answer is 428.
IF_MATCH_PATTERN = r'^(W/)?"?[0-9]{1,18}"?$'
IF_MATCH_SCHEMA = {"type": "string", "pattern": IF_MATCH_PATTERN}


class ProblemError(BaseModel):
    """One problem in the input."""

    loc: list[str | int] = Field(description="Where: `body`, `query`, `header` or `path`, then")
    msg: str


class Problem(BaseModel):
    """An RFC 9457 problem document, with the service's extensions."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(
        description=f"What went wrong, as a URI: `{TYPE_BASE}<code>`",
        examples=[TYPE_BASE + "not-found"],
    )
    title: str
    status: int = Field(ge=400, le=599)
    detail: str = Field(description="What went wrong this time, and what to do")
    instance: str | None = None
    request_id: str | None = Field(
        default=None, description="The `X-Request-ID` of the request: quote it"
    )
    errors: list[ProblemError] | None = Field(
        default=None, description="Each problem in the input (422)"
    )


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The problem answers ``codes``, for a route's ``responses=``."""
    return {
        code: {
            "description": DESCRIPTIONS[code],
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
        }
        for code in codes
    }


F = TypeVar("F", bound=Callable[..., Any])


def raises(*codes: int) -> Callable[[F], F]:
    """Marks a dependency with the problem statuses it may answer: every route that uses it
    declares them."""

    def mark(dependency: F) -> F:
        setattr(dependency, ANSWERS_ATTR, (*getattr(dependency, ANSWERS_ATTR, ()), *codes))
        return dependency

    return mark


def _dependants(route: APIRoute) -> list[Any]:
    """The route's dependant and those of all its dependencies."""
    found: list[Any] = []
    stack: list[Any] = [route.dependant]
    while stack:
        dependant = stack.pop()
        found.append(dependant)
        stack.extend(dependant.dependencies)
    return found


def _dependency_answers(route: APIRoute) -> set[int]:
    return {code for d in _dependants(route) for code in getattr(d.call, ANSWERS_ATTR, ())}


def answers_of(route: APIRoute) -> set[int]:
    """The problem statuses a route may answer, from what it is made of."""
    methods = route.methods or set()
    # The route's parameters and those of its dependencies (a lookup takes the path's id).
    dependants = _dependants(route)
    path_params = any(d.path_params for d in dependants)
    parameters = path_params or any(
        d.query_params or d.header_params or d.cookie_params for d in dependants
    )
    has_body = route.body_field is not None or "requestBody" in (route.openapi_extra or {})
    codes = {500, *_dependency_answers(route)}
    if parameters or has_body:
        codes.add(422)
    if methods & BODY_METHODS:
        codes |= {400, 413, 422}
    if path_params:
        # A path parameter names a record (or a feed, a playbook) that may not be there.
        codes.add(404)
    if methods & WRITE_METHODS:
        # A unique index may refuse the write; a bad Idempotency-Key is refused before the route.
        codes |= {409, 422}
    return codes


def declare_answers(routers: Iterable[APIRouter]) -> None:
    """Fill in the problem answers of every operation of ``routers``; what a route declares
    itself is kept, given the Problem schema if it has no content of its own.

    The routes are the routers' own (the app includes them lazily and reads them when it first
    answers or documents): this is idempotent, so every app built from them gets the same.
    """
    for route in (r for router in routers for r in router.routes):
        if not isinstance(route, APIRoute):
            continue
        # New dicts: the values may be shared with other routes (``problems`` results).
        declared: dict[int | str, Any] = dict(route.responses)
        for code, answer in problems(*sorted(answers_of(route))).items():
            own = declared.get(code, {})
            merged = {**answer, **own}
            mine = own.get("description", "")
            if mine and not mine.startswith(answer["description"]):
                merged["description"] = f"{answer['description']}; or: {mine}"
            declared[code] = merged
        for code, answer in list(declared.items()):
            if int(code) >= 400 and "content" not in answer:
                declared[code] = {**answer, "content": problems(int(code))[int(code)]["content"]}
        route.responses = declared
        if (route.methods or set()) & WRITE_METHODS:
            extra = dict(route.openapi_extra or {})
            if IDEMPOTENCY_KEY not in extra.get("parameters", []):
                extra["parameters"] = [*extra.get("parameters", []), IDEMPOTENCY_KEY]
            route.openapi_extra = extra


def _schemas(models: Iterable[type[BaseModel]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


def _require_if_match(operation: dict[str, Any]) -> None:
    """``If-Match`` is optional to FastAPI, so that its absence is the 428 that says what to send
    rather than a 422; to a client it is required, in the form the service reads."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "header" and parameter["name"].lower() == "if-match":
            parameter["required"] = True
            parameter["schema"] = {**IF_MATCH_SCHEMA, "title": "If-Match"}


def install_openapi(app: FastAPI) -> None:
    """FastAPI's document, with the Problem schema the answers refer to."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()  # cached by FastAPI until the routes change
        document.setdefault("components", {}).setdefault("schemas", {}).update(_schemas([Problem]))
        for item in document["paths"].values():
            for operation in item.values():
                _require_if_match(operation)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
