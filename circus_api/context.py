"""What a route handler receives: the request, who is asking, and the process's resources."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from starlette.datastructures import QueryParams
from starlette.requests import Request

from circus_api.privileges import Privileges
from circus_api.settings import Settings


@dataclass
class RequestContext:
    request: Request
    settings: Settings
    client: AsyncMongoClient
    db: AsyncDatabase
    path: dict[str, str] = field(default_factory=dict)
    user: dict[str, Any] | None = None
    privileges: Privileges | None = None
    body: Any = None
    # documents loaded by the privilege checks (spec 2.3), so handlers need not load them again
    case: dict[str, Any] | None = None
    job: dict[str, Any] | None = None

    @property
    def query(self) -> QueryParams:
        return self.request.query_params

    @property
    def user_email(self) -> str:
        assert self.user is not None, "route is public: no user"
        return str(self.user["userEmail"])

    @property
    def privs(self) -> Privileges:
        assert self.privileges is not None, "route is public: no privileges"
        return self.privileges

    @property
    def state(self) -> Any:
        """Per-process resources built in the lifespan (blob store, broker, ...)."""
        return self.request.app.state
