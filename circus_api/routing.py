"""Route declarations and the request pipeline every API route goes through (spec 0.2, 0.3).

Starlette's matcher is case-sensitive and redirects trailing slashes, so matching is ours: paths
are case-insensitive, a trailing `/` is tolerated, and the first listed route wins. Then, in
CIRCUS's order: authenticate, check the content type, check privileges (global, project, plug-in,
series domain), parse and validate the body, call the handler, shape the response.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import Receive, Scope, Send

from circus_api import auth
from circus_api.context import RequestContext
from circus_api.db import clinical_cases, plugin_jobs, series
from circus_api.errors import (
    BadRequest,
    CircusError,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    error_response,
    internal_error_response,
)
from circus_api.validation import Schema
from circus_api.wire import loads, to_wire

log = logging.getLogger(__name__)

Handler = Callable[[RequestContext], Awaitable[Any]]
BodyKind = Literal["json", "none", "multipart", "octet-stream", "form"]

_MEDIA_TYPES = {
    "json": "application/json",
    "multipart": "multipart/form-data",
    "octet-stream": "application/octet-stream",
    "form": "application/x-www-form-urlencoded",
}
_PARAM = re.compile(r"\{(\w+)(\+?)\}")


@dataclass(frozen=True)
class ApiRoute:
    """One endpoint: what it answers, who may call it, what body it takes."""

    method: str
    path: str
    handler: Handler
    public: bool = False
    global_privileges: tuple[str, ...] = ()
    project_roles: tuple[str, ...] = ()
    plugin_roles: tuple[str, ...] = ()
    series_domain_check: bool = False
    body: BodyKind = "none"
    body_schema: dict[str, Any] | None = None
    status: int = 200
    summary: str = ""
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    schema: Schema | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex, position = "", 0
        for param in _PARAM.finditer(self.path):
            regex += re.escape(self.path[position:param.start()])
            name, rest = param.group(1), param.group(2)
            regex += f"(?P<{name}>.+?)" if rest else f"(?P<{name}>[^/]+)"  # `name+` swallows slashes
            position = param.end()
        regex += re.escape(self.path[position:])
        object.__setattr__(self, "pattern", re.compile(f"^{regex}/?$", re.IGNORECASE))
        object.__setattr__(self, "schema", Schema(self.body_schema) if self.body_schema else None)

    def match(self, path: str) -> dict[str, str] | None:
        m = self.pattern.match(path)
        return m.groupdict() if m else None

    @property
    def access(self) -> str:
        """The access column of spec 4.0, for the OpenAPI document and the route-table test."""
        parts = ["public" if self.public else "auth"]
        parts += [f"G:{p}" for p in self.global_privileges]
        parts += [f"P:{r}" for r in self.project_roles]
        parts += [f"PL:{r}" for r in self.plugin_roles]
        if self.series_domain_check:
            parts.append("D")
        return " ".join(parts)


class ApiRouter(BaseRoute):
    """A Starlette route that serves a list of ApiRoutes under a prefix (`/api`, or `` for /login)."""

    def __init__(self, prefix: str, routes: Sequence[ApiRoute], claim_prefix: bool) -> None:
        self.prefix = prefix.lower()
        self.routes = list(routes)
        # claim_prefix: every path under the prefix is ours, so unknown ones get the JSON 404
        self.claim_prefix = claim_prefix

    def _relative(self, path: str) -> str | None:
        lowered = path.lower()
        if not self.prefix:
            return path
        if lowered == self.prefix or lowered.startswith(self.prefix + "/"):
            return path[len(self.prefix):] or "/"
        return None

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        relative = self._relative(scope["path"])
        if relative is None:
            return Match.NONE, {}
        if self.claim_prefix or any(route.match(relative) is not None for route in self.routes):
            return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NotImplementedError("API routes are addressed by path")

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.dispatch(request)
        await response(scope, receive, send)

    async def dispatch(self, request: Request) -> Response:
        relative = self._relative(request.url.path) or "/"
        if request.method == "OPTIONS":
            return Response(status_code=200)  # CORS preflight; the middleware adds the headers
        for route in self.routes:
            if route.method != request.method:
                continue
            params = route.match(relative)
            if params is not None:
                return await run_route(route, request, params)
        return JSONResponse({"error": "Not found"}, status_code=404)


async def run_route(route: ApiRoute, request: Request, params: dict[str, str]) -> Response:
    state = request.app.state
    ctx = RequestContext(
        request=request, settings=state.settings, client=state.mongo_client, db=state.db, path=params
    )
    try:
        if not route.public:
            ctx.user, ctx.privileges = await auth.authenticate(ctx)
        check_content_type(route, request)
        await check_privileges(route, ctx)
        if route.body == "json":
            ctx.body = await read_json(request, ctx.settings.json_body_max_bytes)
            if route.schema is not None:
                ctx.body = route.schema.validate(ctx.body)
        result = await route.handler(ctx)
    except CircusError as exc:
        if exc.status_code == 401 and ctx.user is not None:
            log.info("privilege refused", extra={"user": ctx.user_email, "path": request.url.path,
                                                 "reason": exc.message})
        return error_response(exc)
    except Exception as exc:
        return internal_error_response(request, exc, ctx.settings.debug)
    return make_response(route, result)


def make_response(route: ApiRoute, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=201 if route.status == 201 else 204)
    return JSONResponse(to_wire(result), status_code=route.status)


def check_content_type(route: ApiRoute, request: Request) -> None:
    if request.method not in ("POST", "PUT", "PATCH") or route.body == "none":
        return
    header = request.headers.get("content-type")
    if not header:
        raise BadRequest("Content-type is unspecified.")
    media_type = header.split(";", 1)[0].strip().lower()
    if media_type != _MEDIA_TYPES[route.body]:
        raise UnsupportedMediaType(f"This endpoint only accepts {_MEDIA_TYPES[route.body]}.")


async def check_privileges(route: ApiRoute, ctx: RequestContext) -> None:
    """Spec 2.3, in its fixed order: global, project, plug-in, series domain."""
    if route.public:
        return
    privileges = ctx.privs
    if route.global_privileges:
        privileges.require_global(*route.global_privileges)
    if route.project_roles:
        if "caseId" in ctx.path:
            ctx.case = await clinical_cases.find(ctx.db, ctx.path["caseId"])
            if ctx.case is None:
                raise NotFound("This case does not exist.")
            project_id = ctx.case["projectId"]
        else:
            project_id = ctx.path["projectId"]
        privileges.require_project_roles(project_id, *route.project_roles)
    if route.plugin_roles or route.series_domain_check:
        if "jobId" in ctx.path:
            ctx.job = await plugin_jobs.find(ctx.db, ctx.path["jobId"])
            if ctx.job is None:
                raise NotFound("This job does not exist.")
            plugin_id = ctx.job["pluginId"]
        else:
            plugin_id = ctx.path["pluginId"]
        if route.plugin_roles:
            privileges.require_plugin_roles(plugin_id, *route.plugin_roles)
    if route.series_domain_check and ctx.job is not None:
        uids = [entry["seriesUid"] for entry in ctx.job.get("series", [])]
        privileges.require_domains(
            await series.domains_of(ctx.db, uids), "You do not have privilege to access this plugin-job."
        )


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) past `limit` bytes without reading it all into memory."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body exceeds the limit of {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body exceeds the limit of {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, limit: int) -> Any:
    raw = await read_body(request, limit)
    if not raw.strip():
        return {}
    try:
        body = loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"Invalid JSON as request body.\n{exc}") from None
    if not isinstance(body, dict | list):
        raise BadRequest("Invalid JSON as request body.\nThe top-level value must be an object or an array.")
    return body
