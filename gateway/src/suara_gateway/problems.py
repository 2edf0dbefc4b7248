"""Every error leaves the gateway as application/problem+json (RFC 9457)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from suara_kit.errors import PROBLEM_BASE, InvalidToken, SuaraError, ValidationFailed
from suara_kit.messaging import describe

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
RETRY_UNAVAILABLE = 5  # seconds: a 503 always says when to come back


class ProblemException(HTTPException):
    """A typed error where only an HTTPException gets through: FastAPI turns anything else
    raised while it reads a request body into a 400."""

    def __init__(self, error: SuaraError) -> None:
        super().__init__(error.status, error.detail)
        self.error = error


def problem_response(exc: SuaraError) -> JSONResponse:
    """The response for a typed error."""
    headers = {}
    if isinstance(exc, InvalidToken) or exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="suara"'
    if "retry_after" in exc.extra:
        headers["Retry-After"] = str(exc.extra["retry_after"])
    elif exc.status == 503:
        headers["Retry-After"] = str(RETRY_UNAVAILABLE)
    return JSONResponse(exc.problem(), status_code=exc.status, media_type=MEDIA_TYPE,
                        headers=headers)


async def _suara(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SuaraError)
    return problem_response(exc)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # The input is never echoed back: it may hold a worker's own words.
    errors = [{"field": ".".join(str(p) for p in e["loc"][1:]) or "body", "message": e["msg"]}
              for e in exc.errors()]
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    return problem_response(ValidationFailed(f"{first['field']}: {first['message']}",
                                             errors=errors))


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if isinstance(exc, ProblemException):
        return problem_response(exc.error)
    body = {"type": PROBLEM_BASE + str(exc.status_code), "title": str(exc.detail),
            "status": exc.status_code, "detail": str(exc.detail)}
    return JSONResponse(body, status_code=exc.status_code, media_type=MEDIA_TYPE,
                        headers=exc.headers)


def unexpected_response(exc: Exception) -> JSONResponse:
    """The 500 for a failure nobody expected; only the exception's type is logged."""
    log.error("unhandled %s", describe(exc))
    return problem_response(SuaraError("Something went wrong on our side; nothing you sent "
                                       "before this request was lost."))


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    return unexpected_response(exc)


def install(app: FastAPI) -> None:
    """Register the problem handlers."""
    app.add_exception_handler(SuaraError, _suara)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
