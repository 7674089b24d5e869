"""create_app(settings): the Starlette application with every route in spec-table order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from pymongo import AsyncMongoClient
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from blob_store import create_blob_store
from circus_api.context import RequestContext
from circus_api.cors import CorsHeaders
from circus_api.db.indexes import ensure_indexes
from circus_api.openapi import openapi_document
from circus_api.routes import (
    blobs,
    case_export,
    cases,
    debug,
    login_info,
    my_lists,
    plugin_displays,
    plugin_job_results,
    plugin_jobs,
    plugins,
    preferences,
    projects,
    rs,
    series,
    series_upload,
    status,
    tasks,
    tokens,
    users,
    viewer_test,
)
from circus_api.routes.admin import groups as admin_groups
from circus_api.routes.admin import job_manager as admin_job_manager
from circus_api.routes.admin import onetime_urls as admin_onetime_urls
from circus_api.routes.admin import plugin_job_queue as admin_plugin_job_queue
from circus_api.routes.admin import plugins as admin_plugins
from circus_api.routes.admin import projects as admin_projects
from circus_api.routes.admin import quarantine as admin_quarantine
from circus_api.routes.admin import server_params as admin_server_params
from circus_api.routes.admin import users as admin_users
from circus_api.routing import ApiRoute, ApiRouter
from circus_api.services import series_import
from circus_api.services import tasks as task_service
from circus_api.services.plugin_displays import DisplayCache
from circus_api.settings import Settings
from circus_api.tasks.broker import install_broker
from circus_api.web import web_routes
from circus_api.web.page import not_found_page, wants_html

log = logging.getLogger(__name__)

# Where two routes of one method match a URL, the first listed wins, as in CIRCUS's table (spec
# 4.0); tests/architecture/test_route_table.py checks that every such overlap resolves as there.
API_ROUTES: list[ApiRoute] = [
    *status.ROUTES,
    *login_info.ROUTES,
    *preferences.ROUTES,
    *users.ROUTES,
    *tokens.ROUTES,
    *projects.ROUTES,
    *series.ROUTES,
    *series_upload.ROUTES,
    *cases.ROUTES,
    *case_export.ROUTES,
    *blobs.ROUTES,
    *my_lists.ROUTES,
    *plugins.ROUTES,
    *plugin_displays.ROUTES,
    *plugin_jobs.ROUTES,
    *plugin_job_results.ROUTES,
    *tasks.ROUTES,
    *admin_groups.ROUTES,
    *admin_users.ROUTES,
    *admin_projects.ROUTES,
    *admin_plugins.ROUTES,
    *admin_server_params.ROUTES,
    *admin_onetime_urls.ROUTES,
    *admin_job_manager.ROUTES,
    *admin_plugin_job_queue.ROUTES,
    *admin_quarantine.ROUTES,
]


def api_routes(settings: Settings) -> list[ApiRoute]:
    routes = [*(debug.ROUTES if settings.debug else []), *API_ROUTES]

    async def openapi(ctx: RequestContext) -> JSONResponse:
        return JSONResponse(openapi_document(routes))

    return [*routes, ApiRoute("GET", "/openapi.json", openapi, public=True, summary="This document")]


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.ensure_dirs()
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            settings.mongo_url or "mongodb://127.0.0.1:27017/", tz_aware=False, timeoutMS=30_000
        )
        app.state.settings = settings
        app.state.mongo_client = client
        app.state.db = client[settings.database]
        app.state.blobs = create_blob_store(settings.blob_store, directory=settings.blob_dir, db=app.state.db)
        app.state.plugin_displays = DisplayCache(settings.plugin_cache_dir)
        app.state.redis = aioredis.from_url(settings.redis_url) if settings.redis_url else None
        install_broker(settings.redis_url)
        for problem in await ensure_indexes(app.state.db):
            log.warning("index not created", extra={"problem": problem})
        housekeeping = asyncio.create_task(
            task_service.housekeeping(app.state.db, app.state.redis, {
                "old downloads": lambda: task_service.sweep_old_downloads(settings.download_dir),
                "stale staged uploads": lambda: series_import.sweep_staging(app.state.db, settings),
            })
        )
        try:
            yield
        finally:
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping
            if app.state.redis is not None:
                await app.state.redis.aclose()
            await client.close()

    routes = api_routes(settings)
    login_routes = [r for r in routes if r.path == "/login"]
    app = Starlette(
        debug=False,
        routes=[
            ApiRouter("/api", routes, claim_prefix=True),
            ApiRouter("", login_routes, claim_prefix=False),
            # the image viewer's pixels: CIRCUS RS's mount, authenticated like /api
            ApiRouter("/rs", rs.ROUTES, claim_prefix=True),
            *([ApiRouter("", viewer_test.ROUTES, claim_prefix=False)] if settings.debug else []),
            *web_routes(),  # the web UI's pages and /static, at paths the API does not use
        ],
        middleware=[Middleware(CorsHeaders, origin=settings.cors_origin)],
        lifespan=lifespan,
        exception_handlers={404: _not_found, 405: _not_found},
    )
    app.state.settings = settings
    return app


async def _not_found(request: Request, exc: Exception) -> Response:
    if wants_html(request):
        return await not_found_page(request)
    return JSONResponse({"error": "Not found"}, status_code=404)
