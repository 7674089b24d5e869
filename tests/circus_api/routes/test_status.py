from tests.circus_api.conftest import Api


def test_status_answers_without_authentication(api: Api) -> None:
    response = api.as_user(None).get("/api/status")
    assert response.status_code == 200
    assert response.json() == {"status": "running"}


def test_every_response_carries_cors_headers(api: Api) -> None:
    response = api.as_user(None).get("/api/status")
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["access-control-allow-methods"] == "POST, GET, PUT, OPTIONS, PATCH, DELETE"
    assert response.headers["access-control-allow-headers"] == "Authorization, Content-Type"


def test_options_is_an_empty_200_preflight(api: Api) -> None:
    response = api.as_user(None).request("OPTIONS", "/api/cases/whatever")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["access-control-max-age"] == "86400"


def test_unknown_api_path_is_a_json_404(api: Api) -> None:
    response = api.as_user("alice").get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}


def test_paths_are_case_insensitive_and_tolerate_a_trailing_slash(api: Api) -> None:
    assert api.as_user("alice").get("/API/Login-Info/").json()["userEmail"] == "alice@example.com"


def test_openapi_document_lists_the_served_routes(api: Api) -> None:
    document = api.as_user(None).get("/api/openapi.json").json()
    assert "/api/admin/groups/{groupId}" in document["paths"]
    assert set(document["paths"]["/api/admin/groups/{groupId}"]) == {"get", "patch"}
