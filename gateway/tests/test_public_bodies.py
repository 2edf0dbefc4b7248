"""Public request bodies refuse unknown fields (a 422 naming them), at every depth, although the
services and the gateway read the same contract models tolerantly as messages."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from suara_contracts.liaison import LiaisonShareRequest, ShareWithLiaison
from suara_contracts.notifications import StaffPreferences
from suara_contracts.rpc import Actor, FormSpec, RemedyRoute, SubmitReport
from suara_gateway.schemas import FormDraftBody, Public, ReportLookup

Sign = typing.Callable[..., str]
CASE = UUID("7d4c5a1e-2b3f-4c6d-8e9f-0a1b2c3d4e5f")
REPORT = {"organisation": "tenaganita", "answers": {"what_happened": "unpaid"}}
SPEC = {"fields": [{"name": "what_happened", "kind": "long-text",
                    "label": {"en": "What happened?"}, "required": True}]}


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        yield from _routes(getattr(getattr(route, "original_router", None), "routes", []))


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models(field.annotation)
    for arg in typing.get_args(annotation):
        yield from _models(arg)


def _bodies(app: FastAPI) -> dict[str, list[type[BaseModel]]]:
    """Every model a request body is read with, nested ones included, by operation."""
    found: dict[str, list[type[BaseModel]]] = {}
    for route in _routes(app.routes):
        params = [p for d in [route.dependant, *route.dependant.dependencies]
                  for p in d.body_params]
        for param in params:
            for method in route.methods:
                found.setdefault(f"{method} {route.path}", []).extend(
                    _models(param.field_info.annotation))
    return found


def test_every_model_a_public_body_is_read_with_refuses_unknown_fields(gateway: FastAPI) -> None:
    bodies = _bodies(gateway)
    assert len(bodies) > 40
    loose = {f"{operation}: {model.__name__}" for operation, models in bodies.items()
             for model in models if model.model_config.get("extra") != "forbid"}
    assert not loose, sorted(loose)


def _closed(schema: Any, root: dict[str, Any], where: str, seen: set[str]) -> Iterator[str]:
    """Where an object schema with properties allows others."""
    if isinstance(schema, dict):
        if (ref := schema.get("$ref")) and ref not in seen:
            seen.add(ref)
            yield from _closed(root["components"]["schemas"][ref.rsplit("/", 1)[1]], root,
                               f"{where}→{ref.rsplit('/', 1)[1]}", seen)
        if "properties" in schema and schema.get("additionalProperties") is not False:
            yield where
        for key, value in schema.items():
            yield from _closed(value, root, f"{where}.{key}", seen)
    elif isinstance(schema, list):
        for item in schema:
            yield from _closed(item, root, where, seen)


def test_the_openapi_document_says_request_bodies_refuse_other_properties(
        gateway: FastAPI) -> None:
    """The compatibility gate relies on it: a property removed from a body is breaking. (JSON
    bodies: the upload's multipart form is a file and nothing else.)"""
    doc = gateway.openapi()
    json_bodies = [(f"{method} {path}", op["requestBody"]["content"]["application/json"])
                   for path, item in doc["paths"].items() for method, op in item.items()
                   if isinstance(op, dict)
                   and "application/json" in op.get("requestBody", {}).get("content", {})]
    assert len(json_bodies) > 40
    assert [where for operation, media in json_bodies
            for where in _closed(media["schema"], doc, operation, set())] == []


def test_a_strict_copy_keeps_the_model_and_refuses_unknown_fields_at_every_depth() -> None:
    strict = Public[FormSpec]
    assert strict is Public[FormSpec]
    assert issubclass(strict, FormSpec)
    assert strict.__name__ == "FormSpec"
    assert strict.__doc__ == FormSpec.__doc__
    misspelt = {"fields": [{**SPEC["fields"][0], "identifiyng": True}]}
    with pytest.raises(ValidationError) as refused:
        strict.model_validate(misspelt)
    assert [e["loc"] for e in refused.value.errors()] == [("fields", 0, "identifiyng")]
    # the message model reads it, ignoring the field: never what a partner should rely on
    assert FormSpec.model_validate(misspelt).fields[0].identifying is False
    # same fields, defaults, constraints and validators: the schema differs only in that
    assert strict.model_json_schema() == _forbidding(FormSpec.model_json_schema())
    assert Public[ReportLookup] is ReportLookup  # strict at every depth already
    assert FormDraftBody.model_fields["spec"].annotation is strict


def _forbidding(schema: Any) -> Any:
    if isinstance(schema, dict):
        closed = {key: _forbidding(value) for key, value in schema.items()}
        if "properties" in schema:
            closed["additionalProperties"] = False
        return closed
    return [_forbidding(item) for item in schema] if isinstance(schema, list) else schema


def test_a_strict_copy_goes_wherever_the_model_goes() -> None:
    """The gateway puts what it read into a service command as it is."""
    body = Public[LiaisonShareRequest](liaison="liaison-1", summary="Wages unpaid.")
    command = ShareWithLiaison(actor=Actor(subject="staff-7", roles=["case-handler"]),
                               case_id=CASE, **body.model_dump())
    assert command.summary == "Wages unpaid."
    preferences = Public[StaffPreferences].model_validate({"timezone": "Asia/Jakarta"})
    assert preferences.model_dump() == StaffPreferences(timezone="Asia/Jakarta").model_dump()
    route = Public[RemedyRoute]
    assert route.model_fields.keys() == RemedyRoute.model_fields.keys()
    assert Public[SubmitReport].model_validate(REPORT).model_dump_json() == \
        SubmitReport.model_validate(REPORT).model_dump_json()


async def test_an_unknown_field_in_a_report_is_a_422_naming_it(
        client: httpx.AsyncClient) -> None:
    # the same report without it gets as far as intake (none runs here: 503)
    assert (await client.post("/api/v1/reports", json=REPORT)).status_code == 503
    reply = await client.post("/api/v1/reports", json={**REPORT, "form_verison": 2})
    assert reply.status_code == 422, reply.text
    assert [e["field"] for e in reply.json()["errors"]] == ["form_verison"]


async def test_an_unknown_field_deep_in_a_body_is_a_422_naming_it(
        client: httpx.AsyncClient, sign: Sign) -> None:
    committee = {"Authorization": "Bearer " + sign(realm_access={"roles": ["worker-committee"]})}
    misspelt = {"fields": [{**SPEC["fields"][0], "identifiyng": True}]}
    assert (await client.post("/api/v1/forms", headers=committee,
                              json={"spec": SPEC})).status_code == 503
    reply = await client.post("/api/v1/forms", headers=committee, json={"spec": misspelt})
    assert reply.status_code == 422, reply.text
    assert [e["field"] for e in reply.json()["errors"]] == ["spec.fields.0.identifiyng"]


async def test_a_liaison_share_carrying_answers_is_a_422(client: httpx.AsyncClient,
                                                         sign: Sign) -> None:
    """Only the handler's summary reaches the employer side; a body with more is refused."""
    handler = {"Authorization": "Bearer " + sign()}
    share = {"liaison": "liaison-1", "summary": "Wages unpaid."}
    path = f"/api/v1/cases/{CASE}/liaison-shares"
    assert (await client.post(path, headers=handler, json=share)).status_code == 503
    reply = await client.post(path, headers=handler,
                              json={**share, "answers": {"what_happened": "x"}})
    assert reply.status_code == 422, reply.text
    assert [e["field"] for e in reply.json()["errors"]] == ["answers"]
