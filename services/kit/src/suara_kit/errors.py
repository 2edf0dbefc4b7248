"""Typed errors that carry an HTTP status and render as RFC 9457 problem+json."""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://suara.example/problems/"


class SuaraError(Exception):
    """An expected failure: it has a status, a stable type slug and a human message."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """The problem+json body for this error."""
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        body.update(self.extra)
        return body


class BadRequest(SuaraError):
    status, slug, title = 400, "bad-request", "Bad request"


class Unauthorized(SuaraError):
    status, slug, title = 401, "unauthorized", "Authentication required"


class InvalidToken(Unauthorized):
    slug, title = "invalid-token", "Invalid access token"


class Forbidden(SuaraError):
    status, slug, title = 403, "forbidden", "Not allowed"


class NotFound(SuaraError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(SuaraError):
    status, slug, title = 409, "conflict", "Conflict"


class Gone(SuaraError):
    status, slug, title = 410, "gone", "Gone"


class ValidationFailed(SuaraError):
    status, slug, title = 422, "validation", "The request is not valid"


class TooManyAttempts(SuaraError):
    status, slug, title = 429, "too-many-attempts", "Too many attempts"


class Unavailable(SuaraError):
    status, slug, title = 503, "unavailable", "Service unavailable"


class RefusedAfterCommit(Exception):
    """Raised by a rule run through `ServiceApp.transactional` to refuse a request but keep
    what its transaction wrote (an audit entry of the refusal): the transaction commits, then
    `error` is raised to the caller."""

    def __init__(self, error: SuaraError) -> None:
        super().__init__(error.detail)
        self.error = error


_BY_STATUS: dict[int, type[SuaraError]] = {
    cls.status: cls
    for cls in (BadRequest, Unauthorized, Forbidden, NotFound, Conflict, Gone, ValidationFailed,
                TooManyAttempts, Unavailable)
}


def error_from_problem(body: dict[str, Any]) -> SuaraError:
    """Rebuild a typed error from a problem body received over NATS."""
    status = int(body.get("status", 500))
    cls = _BY_STATUS.get(status, SuaraError)
    extra = {k: v for k, v in body.items() if k not in {"type", "title", "status", "detail"}}
    err = cls(str(body.get("detail", "")), **extra)
    if cls is SuaraError:
        err.status = status  # type: ignore[misc]
    return err
