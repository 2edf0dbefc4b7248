"""The published OpenAPI document, as the gateway really answers: FastAPI files an error
response's model under `application/json`, but every error goes out as
`application/problem+json`; this moves the schema there. And it documents the 400 that FastAPI
answers, before any validation, to a body it cannot read at all."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM = "application/problem+json"


def problem_json(document: dict[str, Any]) -> dict[str, Any]:
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


def unreadable_bodies(document: dict[str, Any]) -> dict[str, Any]:
    """Document a 400 on every operation that takes a body: FastAPI answers it when the bytes
    are not UTF-8 or a multipart body is broken (the schemathesis suite sends both)."""
    malformed = {"description": "Malformed request", "content": {
        PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault("400", malformed)
    return document


def install(app: FastAPI) -> None:
    """Serve (and cache) the corrected document as `app.openapi()`."""
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = unreadable_bodies(problem_json(get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes, openapi_version=app.openapi_version)))
        return app.openapi_schema
    app.openapi = openapi  # type: ignore[method-assign]
