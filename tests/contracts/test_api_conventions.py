"""The public API v1 reads as one API: kebab-case paths with snake_case parameters and
fields, problem+json for every documented error, and cursor pagination on the lists that grow
without bound. Checked on the committed OpenAPI snapshot, which the drift test ties to the code."""

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


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in OPENAPI["paths"].items()
            for method, op in item.items() if method in {"get", "post", "put", "patch", "delete"}]


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
    params = {p["name"] for _, _, op in operations() for p in op.get("parameters", [])
              if p["in"] in ("query", "path")}
    assert not sorted(p for p in params if not SNAKE.match(p))
    fields = {name for schema in OPENAPI["components"]["schemas"].values()
              for name in properties(schema)}
    odd = sorted(f for f in fields if not SNAKE.match(f))
    assert not odd, f"fields not in snake_case: {odd}"


def test_every_documented_error_is_problem_json() -> None:
    wrong = [f"{method.upper()} {path} {status}"
             for path, method, op in operations() if path.startswith("/api/v1")
             for status, response in op.get("responses", {}).items()
             if status[0] in "45" and "content" in response
             and set(response["content"]) != {"application/problem+json"}]
    assert not wrong, f"errors not documented as application/problem+json: {wrong}"


@pytest.mark.parametrize("path", sorted(PAGED))
def test_lists_that_grow_are_paged_by_cursor(path: str) -> None:
    op = OPENAPI["paths"][path]["get"]
    names = {p["name"] for p in op.get("parameters", [])}
    assert {"cursor", "limit"} <= names, f"{path} takes {sorted(names)}"
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    reply = OPENAPI["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert "next_cursor" in reply["properties"], f"{path} answers no next_cursor"
