"""The public API v1 reads as one API: kebab-case paths with snake_case parameters and
fields, problem+json for every documented error, cursor pagination on the lists that grow
without bound, and what every route answers alike documented on each: Idempotency-Key on POSTs,
413 on bodies, 429 wherever a token is read, 503 everywhere. Checked on the committed OpenAPI
snapshot, which the drift test ties to the code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

OPENAPI = json.loads((Path(__file__).parents[2] / "contracts" / "openapi.json")
                     .read_text(encoding="utf-8"))
SEGMENT = re.compile(r"^([a-z0-9]+(-[a-z0-9]+)*|\{[a-z][a-z0-9_]*\})$")
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
PAGED = {"/api/v1/cases", "/api/v1/alerts", "/api/v1/referrals",
         "/api/v1/webhooks/{webhook_id}/deliveries"}
PROBLEM = "application/problem+json"


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in OPENAPI["paths"].items()
            for method, op in item.items() if method in {"get", "post", "put", "patch", "delete"}]


def resolved(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` (a shared response, header or parameter) to what it names."""
    while "$ref" in node:
        found: Any = OPENAPI
        for token in node["$ref"].removeprefix("#/").split("/"):
            found = found[token]
        node = found
    return node


def api_operations(method: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """`METHOD path` and operation of every /api/v1 operation (of one method, if given)."""
    return [(f"{m.upper()} {path}", op) for path, m, op in operations()
            if path.startswith("/api/v1/") and method in (None, m)]


def responses(op: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {status: resolved(response) for status, response in op["responses"].items()}


def retry_after(response: dict[str, Any]) -> dict[str, Any] | None:
    return next((resolved(h) for name, h in response.get("headers", {}).items()
                 if name.lower() == "retry-after"), None)


def properties(schema: dict[str, Any]) -> list[str]:
    found = list(schema.get("properties", {}))
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += properties(schema[key])
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            found += properties(part)
    for sub in schema.get("properties", {}).values():
        found += properties(sub)
    return found


@pytest.mark.parametrize("path", sorted(p for p in OPENAPI["paths"] if p.startswith("/api/v1")))
def test_paths_are_kebab_case_with_snake_case_parameters(path: str) -> None:
    bad = [s for s in path.removeprefix("/api/v1/").split("/") if not SEGMENT.match(s)]
    assert not bad, f"{path}: segments {bad} are not kebab-case words or {{snake_case}}"


def test_every_parameter_and_field_is_snake_case() -> None:
    params = {p["name"] for _, _, op in operations()
              for p in map(resolved, op.get("parameters", [])) if p["in"] in ("query", "path")}
    assert not sorted(p for p in params if not SNAKE.match(p))
    fields = {name for schema in OPENAPI["components"]["schemas"].values()
              for name in properties(schema)}
    odd = sorted(f for f in fields if not SNAKE.match(f))
    assert not odd, f"fields not in snake_case: {odd}"


def test_every_documented_error_is_problem_json() -> None:
    wrong = [f"{label} {status}" for label, op in api_operations()
             for status, response in responses(op).items()
             if status[0] in "45" and set(response.get("content", {})) != {PROBLEM}]
    assert not wrong, f"errors not documented as application/problem+json: {wrong}"


@pytest.mark.parametrize("path", sorted(PAGED))
def test_lists_that_grow_are_paged_by_cursor(path: str) -> None:
    op = OPENAPI["paths"][path]["get"]
    names = {p["name"] for p in map(resolved, op.get("parameters", []))}
    assert {"cursor", "limit"} <= names, f"{path} takes {sorted(names)}"
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    reply = OPENAPI["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert "next_cursor" in reply["properties"], f"{path} answers no next_cursor"


def test_every_post_takes_idempotency_key_once_and_documents_its_answers() -> None:
    for label, op in api_operations("post"):
        keys = [p for p in map(resolved, op.get("parameters", []))
                if p["in"] == "header" and p["name"].lower() == "idempotency-key"]
        assert len(keys) == 1, f"{label}: Idempotency-Key documented {len(keys)} times"
        assert keys[0]["schema"]["pattern"] == r"^[\x21-\x7e]{1,255}$", label
        answers = responses(op)
        assert "409" in answers, f"{label}: no 409 for a key still in flight"
        for status, response in answers.items():
            if status.startswith("2"):
                replayed = resolved(response.get("headers", {}).get("Idempotent-Replayed", {}))
                assert replayed.get("schema") == {"type": "string", "enum": ["true"]}, label


def test_the_shared_idempotency_key_says_what_it_does() -> None:
    key = OPENAPI["components"]["parameters"]["IdempotencyKey"]
    assert (key["name"], key["in"], key["required"]) == ("Idempotency-Key", "header", False)
    assert (key["schema"]["minLength"], key["schema"]["maxLength"]) == (1, 255)
    for promise in ("24 h", "`Idempotent-Replayed: true`", "422", "409", "at least 16"):
        assert promise in key["description"]
    in_flight = OPENAPI["components"]["responses"]["IdempotencyInFlight"]
    assert retry_after(in_flight) is not None


def test_a_route_that_reads_the_key_itself_keeps_its_own_required_parameter() -> None:
    op = OPENAPI["paths"]["/api/v1/mediations/{mediation_id}/holds"]["post"]
    [key] = [p for p in op["parameters"] if "$ref" not in p and p["in"] == "header"]
    assert (key["name"], key["required"]) == ("Idempotency-Key", True)


def test_every_operation_documents_503_with_retry_after() -> None:
    for label, op in api_operations():
        unavailable = responses(op).get("503")
        assert unavailable is not None, f"{label}: no 503"
        header = retry_after(unavailable)
        assert header is not None, f"{label}: 503 without Retry-After"
        assert header["required"] is True
        assert header["schema"] == {"type": "integer", "minimum": 1}


def test_every_body_documents_413() -> None:
    with_body = [(label, op) for label, op in api_operations() if "requestBody" in op]
    assert len(with_body) > 40
    for label, op in with_body:
        assert "413" in responses(op), f"{label}: takes a body, documents no 413"
    assert "1 MiB" in resolved(OPENAPI["paths"]["/api/v1/reports"]["post"]["responses"]["413"])[
        "description"]


def test_every_operation_that_reads_a_token_documents_429_with_retry_after() -> None:
    with_token = [(label, op) for label, op in api_operations()
                  if any("keycloak" in rule for rule in op.get("security", []))]
    assert len(with_token) > 80
    for label, op in with_token:
        limited = responses(op).get("429")
        assert limited is not None, f"{label}: reads a token, documents no 429"
        header = retry_after(limited)
        assert header is not None, f"{label}: 429 without Retry-After"
        assert header["required"] is True
    public = OPENAPI["paths"]["/api/v1/public/statistics"]["get"]
    assert "429" not in public["responses"], "no token, no rate limit"
