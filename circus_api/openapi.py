"""The OpenAPI document at `/api/openapi.json`, generated from the same ApiRoute list that serves."""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib.metadata import version
from typing import Any

from circus_api.routing import ApiRoute

_MEDIA = {"json": "application/json", "multipart": "multipart/form-data",
          "octet-stream": "application/octet-stream", "form": "application/x-www-form-urlencoded"}


def _operation(route: ApiRoute) -> dict[str, Any]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"\{(\w+)\+?\}", route.path)
    ]
    operation: dict[str, Any] = {
        "summary": route.summary,
        "description": f"Access: {route.access}",
        "parameters": params,
        "responses": {
            str(route.status): {"description": "Success"},
            "default": {
                "description": "Error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
    }
    if not route.public:
        operation["security"] = [{"bearer": []}]
    if route.body != "none":
        schema = route.body_schema or {}
        operation["requestBody"] = {"required": True, "content": {_MEDIA[route.body]: {"schema": schema}}}
    return operation


def openapi_document(routes: Sequence[ApiRoute], prefix: str = "/api") -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        path = prefix + route.path.replace("+}", "}")
        paths.setdefault(path, {}).setdefault(route.method.lower(), _operation(route))
    return {
        "openapi": "3.1.0",
        "info": {"title": "circus API", "version": version("circus")},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}, "validationErrors": {"type": "array"}},
                    "required": ["error"],
                }
            },
        },
    }
