"""HTTP test harness: the app with CIRCUS's fixtures loaded, and clients acting as fixture users."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pymongo.database import Database
from starlette.testclient import TestClient

from circus_api.app import create_app
from circus_api.settings import Settings
from tests.circus_fixtures import load_fixtures

# the fixed access tokens of tokens.yaml
TOKENS = {
    "alice": "2311aee0435c36ae14c39835539a931a6344714a",  # admin: manageServer, issueOnetime
    "bob": "8292766837c1901b0a6954f7bda49710316c57da",  # power user
    "guest": "2c2fbaea8046df924b8b459879b799c111e9b7f1",  # no privilege
    "carol": "m47mvv02x2yer00gjroc0za00dger4f455cvedfh",
    "dave": "98uijkgfhgty43gccccf54rfdvupiazmvr3nwcko",
    "eve": "ft5y1dkymhc2jh9wf0hrx7dpghj8u12hdk27dnls",
    "frank": "s10jkttverbemycvpe7bbbbemxcm38cqvrey54hd",
}


class Api:
    """A TestClient that sends a fixture user's bearer token."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def as_user(self, name: str | None) -> UserClient:
        return UserClient(self.client, TOKENS[name] if name else None)

    def as_token(self, access_token: str) -> UserClient:
        """A client sending any bearer token (a freshly issued or a permanent one)."""
        return UserClient(self.client, access_token)

    def login(self, url: str = "/login", **form: str | None) -> httpx.Response:
        """POST the OAuth2 form of the web UI: the password grant of `circus-front` unless overridden."""
        fields = {"grant_type": "password", "client_id": "circus-front", "client_secret": "not-a-secret", **form}
        return self.client.post(url, data={k: v for k, v in fields.items() if v is not None})


class UserClient:
    def __init__(self, client: TestClient, token: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    return settings


@pytest.fixture
def api(app_settings: Settings, sync_db: Database) -> Iterator[Api]:
    """The app over a database holding CIRCUS's fixtures."""
    load_fixtures(sync_db)
    with TestClient(create_app(app_settings), raise_server_exceptions=False) as client:
        yield Api(client)
