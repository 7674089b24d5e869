"""The error family of the API and how each becomes a CIRCUS error body (spec 0.5).

Services raise these with CIRCUS's exact messages; routes never build error responses.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

log = logging.getLogger(__name__)


class CircusError(Exception):
    """An error with an HTTP status and a message meant for the client."""

    status_code = 500

    def __init__(self, message: str, status_code: int | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.message, **self.extra}


class BadRequest(CircusError):
    """400: the request is malformed or breaks a rule."""

    status_code = 400


class Unauthorized(CircusError):
    """401: not authenticated, or missing a privilege (CIRCUS uses 401 for both)."""

    status_code = 401


class Forbidden(CircusError):
    """403: only for DICOM domain checks and 'case is in someone's my list'."""

    status_code = 403


class NotFound(CircusError):
    """404: the addressed resource does not exist."""

    status_code = 404


class Conflict(CircusError):
    """409: a unique key is taken, or the resource is not in the right state."""

    status_code = 409


class PayloadTooLarge(CircusError):
    """413: a body or upload over its configured limit."""

    status_code = 413


class UnsupportedMediaType(CircusError):
    """415: the Content-Type is not the one the route accepts."""

    status_code = 415


class Unprocessable(CircusError):
    """422: the request is valid but the resource's state forbids it (job cancel/invalidate)."""

    status_code = 422


class ServiceUnavailable(CircusError):
    """503: a part the request needs is not configured or not answering."""

    status_code = 503


class ValidationFailed(BadRequest):
    """400 with ajv-shaped `validationErrors` (spec 0.5)."""

    def __init__(self, errors: list[dict[str, Any]], message: str = "Request data is not correct.") -> None:
        super().__init__(message, validationErrors=errors)
        self.errors = errors


def error_response(exc: CircusError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status_code)


def internal_error_response(request: Request, exc: BaseException, debug: bool) -> JSONResponse:
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
    if debug:
        stack = "".join(traceback.format_exception(exc))
        return JSONResponse({"error": str(exc) or type(exc).__name__, "stack": stack}, status_code=500)
    return JSONResponse({"error": "Internal server error."}, status_code=500)
