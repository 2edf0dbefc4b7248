"""The published OpenAPI document, as the gateway really answers: FastAPI files an error
response's model under `application/json`, but every error goes out as
`application/problem+json`; this moves the schema there. It documents the 400 that FastAPI
answers, before any validation, to a body it cannot read at all; and what the middleware and
dependencies answer to every route alike, which no route declares: `Idempotency-Key` on POSTs
(`idempotency`), the body limit (413) and the rate limit (429, `limits`), and a service that
does not answer (503). Those shared parts are components, referred to from each operation."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from suara_contracts.mediation import IDEMPOTENCY_KEY
from suara_gateway import attach
from suara_gateway.deps import bearer
from suara_gateway.idempotency import ANONYMOUS_MIN_LENGTH, HEADER, TTL_SECONDS
from suara_gateway.settings import GatewaySettings

PROBLEM = "application/problem+json"
API = "/api/v1/"
SCHEME = bearer.scheme_name  # the security scheme of every route that reads a token
Doc = dict[str, Any]


def _ref(kind: str, name: str) -> Doc:
    return {"$ref": f"#/components/{kind}/{name}"}


def _default(setting: str) -> int:
    return int(GatewaySettings.model_fields[setting].default)


def _size(n: int) -> str:
    return f"{n // 1024 ** 2} MiB" if n % 1024 ** 2 == 0 else f"{n // 1024} KiB"


def _problem(description: str, retry_after: str | None = None) -> Doc:
    """A problem+json response, with the Retry-After header component named."""
    response: Doc = {"description": description, "content": {
        PROBLEM: {"schema": _ref("schemas", "Problem")}}}
    if retry_after:
        response["headers"] = {"Retry-After": _ref("headers", retry_after)}
    return response


HEADERS: Doc = {
    "RetryAfter": {"description": "Seconds to wait before trying again.", "required": True,
                   "schema": {"type": "integer", "minimum": 1}},
    "RetryAfterInFlight": {
        "description": "Seconds to wait before retrying: sent when the Idempotency-Key is held "
                       "by a request still being processed.",
        "schema": {"type": "integer", "minimum": 1}},
    "IdempotentReplayed": {
        "description": "`true`: this is the response kept for an earlier request with the same "
                       "Idempotency-Key; nothing ran again.",
        "schema": {"type": "string", "enum": ["true"]}},
}
PARAMETERS: Doc = {"IdempotencyKey": {
    "name": HEADER, "in": "header", "required": False,
    "description": (
        "Makes retrying this POST safe: send a fresh random key (a UUID) and the same key with "
        "every retry of the same request. A success is kept for "
        f"{TTL_SECONDS // 3600} h: the same key with the same request (method, path, query, "
        "content type and body) gets that response again, with `Idempotent-Replayed: true`, "
        "and nothing runs twice. The same key with another request is a 422; while the first "
        "request is still being processed, a 409 with Retry-After. An error (4xx, 5xx) is not "
        "kept: a retry runs again. Keys are per caller and path; without an access token a key "
        f"needs at least {ANONYMOUS_MIN_LENGTH} characters. Without the header the POST runs "
        "as usual."),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": IDEMPOTENCY_KEY},
}}
IN_FLIGHT = ("a request with the same Idempotency-Key is still being processed: retry after "
             "Retry-After seconds")
RESPONSES: Doc = {
    "TooLarge": _problem(
        f"Request too large: a body may carry at most {_size(_default('max_body_bytes'))} by "
        "default (the operator's SUARA_GATEWAY_MAX_BODY_BYTES), a multipart/form-data body "
        f"(file uploads) at most {_size(attach.MAX_BODY)}: {attach.LIMITS.max_files} files of "
        f"up to {attach.LIMITS.max_bytes // 1024 ** 2} MB each"),
    "TooManyRequests": _problem(
        "Too many requests from your client: each caller with an access token (its client and "
        f"subject) may make {_default('rate_per_minute')} requests a minute, "
        f"{_default('rate_burst')} at once, by default (the operator's "
        "SUARA_GATEWAY_RATE_PER_MINUTE and SUARA_GATEWAY_RATE_BURST); retry after Retry-After "
        "seconds", "RetryAfter"),
    "ServiceUnavailable": _problem(
        "A service is not available (it did not answer, or cannot be reached); nothing was "
        "done; retry after Retry-After seconds", "RetryAfter"),
    "IdempotencyInFlight": _problem(IN_FLIGHT[0].upper() + IN_FLIGHT[1:], "RetryAfterInFlight"),
}


def problem_json(document: Doc) -> Doc:
    """Move each 4xx/5xx response's schema from application/json to application/problem+json."""
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                content = response.get("content")
                if not str(status).startswith(("4", "5")) or not content:
                    continue
                schema = (content.pop("application/json", None) or {}).get("schema")
                if schema is not None:
                    content.setdefault(PROBLEM, {})["schema"] = schema
    return document


def unreadable_bodies(document: Doc) -> Doc:
    """Document a 400 on every operation that takes a body: FastAPI answers it when the bytes
    are not UTF-8 or a multipart body is broken (the schemathesis suite sends both)."""
    malformed = {"description": "Malformed request", "content": {
        PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault("400", malformed)
    return document


def _with_header(response: Doc, name: str, component: str) -> Doc:
    """A copy of `response` (FastAPI may share one among routes) with the header added."""
    return {**response, "headers": {**response.get("headers", {}),
                                    name: _ref("headers", component)}}


def _api_operations(document: Doc) -> list[tuple[str, Doc]]:
    """(method, operation) for every operation under /api/v1."""
    return [(method, operation) for path, item in document.get("paths", {}).items()
            if path.startswith(API) for method, operation in item.items()
            if isinstance(operation, dict) and "responses" in operation]


def needs_token(document: Doc, operation: Doc) -> bool:
    """Whether the operation reads a bearer token (the rate limit counts every valid one)."""
    rules = operation.get("security", document.get("security", []))
    return any(SCHEME in rule for rule in rules)


def takes_key_itself(document: Doc, operation: Doc) -> bool:
    """Whether the route declares an Idempotency-Key header of its own (mediation bookings)."""
    for parameter in operation.get("parameters", []):
        if "$ref" in parameter:
            parameter = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        if parameter.get("in") == "header" and parameter.get("name", "").lower() == HEADER.lower():
            return True
    return False


def limits_and_outages(document: Doc) -> Doc:
    """413 on every body, 429 with Retry-After wherever a token is read (an anonymous 429,
    intake's lock of a reference, carries Retry-After too), 503 with Retry-After everywhere."""
    for _, operation in _api_operations(document):
        responses = operation["responses"]
        responses["503"] = _ref("responses", "ServiceUnavailable")
        if "requestBody" in operation:
            responses["413"] = _ref("responses", "TooLarge")
        if "429" in responses and "$ref" not in responses["429"]:
            responses["429"] = _with_header(responses["429"], "Retry-After", "RetryAfter")
        elif needs_token(document, operation):
            responses["429"] = _ref("responses", "TooManyRequests")
    return document


def idempotency(document: Doc) -> Doc:
    """Idempotency-Key on every POST under /api/v1 (once: a route may declare it itself),
    `Idempotent-Replayed` on its successes, and the 409 of a key in flight."""
    for method, operation in _api_operations(document):
        if method != "post":
            continue
        responses = operation["responses"]
        for status, response in list(responses.items()):
            if str(status).startswith("2") and "$ref" not in response:
                responses[status] = _with_header(response, "Idempotent-Replayed",
                                                 "IdempotentReplayed")
        if takes_key_itself(document, operation):
            responses.setdefault("409", _ref("responses", "IdempotencyInFlight"))
            continue
        operation["parameters"] = [*operation.get("parameters", []),
                                   _ref("parameters", "IdempotencyKey")]
        conflict = responses.setdefault("409", _ref("responses", "IdempotencyInFlight"))
        if "$ref" not in conflict:  # the route's own conflicts, and the key's
            conflict = _with_header(conflict, "Retry-After", "RetryAfterInFlight")
            responses["409"] = {**conflict,
                                "description": f"{conflict['description']}; or {IN_FLIGHT}"}
    return document


def components(document: Doc) -> Doc:
    """Add the shared responses, headers and parameters the operations refer to."""
    shared = document.setdefault("components", {})
    for kind, entries in (("responses", RESPONSES), ("headers", HEADERS),
                          ("parameters", PARAMETERS)):
        shared.setdefault(kind, {}).update(copy.deepcopy(entries))
    return document


def corrected(document: Doc) -> Doc:
    """FastAPI's document, corrected and completed as this module describes."""
    document = components(unreadable_bodies(problem_json(document)))
    return limits_and_outages(idempotency(document))


def install(app: FastAPI) -> None:
    """Serve (and cache) the corrected document as `app.openapi()`."""
    def openapi() -> Doc:
        if app.openapi_schema is None:
            app.openapi_schema = corrected(get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes, openapi_version=app.openapi_version))
        return app.openapi_schema
    app.openapi = openapi  # type: ignore[method-assign]
