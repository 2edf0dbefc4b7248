"""The current contract keeps every promise of the released ones (the CI gate), and the checker
catches each kind of breaking change while letting compatible ones through."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from suara_contracts import compat

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
RELEASED = CONTRACTS / "released"
Doc = dict[str, Any]
Change = Callable[[Doc], object]


# the gate
def test_there_is_a_release_with_every_document() -> None:
    releases = list(compat.releases(CONTRACTS))
    assert releases[0].name == "v1"
    for release in releases:
        docs = compat.load(release)
        assert {"openapi.json", "asyncapi.json"} <= docs.keys()
        assert any(name.startswith("schemas/events/") for name in docs)
        assert any(name.endswith(".request.json") for name in docs)


def test_released_baselines_are_unchanged() -> None:
    """Every file under released/ matches SHA256SUMS: a baseline is never edited."""
    sums = (RELEASED / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    listed = {name: digest for digest, name in (line.split("  ", 1) for line in sums)}
    present = {p.relative_to(RELEASED).as_posix(): p for p in RELEASED.rglob("*.json")}
    assert present.keys() == listed.keys()
    changed = [name for name, path in present.items()
               if hashlib.sha256(path.read_bytes()).hexdigest() != listed[name]]
    assert not changed, f"released baselines edited: {changed}"


def test_current_contract_is_compatible_with_every_release() -> None:
    found, accepted = compat.findings(CONTRACTS), compat.accepted(CONTRACTS)
    breaking = [line for line in found if line not in accepted]
    assert not breaking, ("breaking changes (add a v2 subject or path instead):\n"
                          + "\n".join(breaking))
    stale = sorted(accepted.keys() - set(found))
    assert not stale, f"released/accepted.txt: no longer found, remove: {stale}"


def test_a_release_is_compatible_with_itself() -> None:
    docs = compat.load(RELEASED / "v1")
    assert compat.release_changes(docs, copy.deepcopy(docs)) == []


def test_the_command_line_reports_and_fails_unless_accepted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "released" / "v1").mkdir(parents=True)
    (tmp_path / "openapi.json").write_text('{"paths": {"/y": {"get": {"responses": {}}}}}')
    (tmp_path / "released" / "v1" / "openapi.json").write_text(
        '{"paths": {"/x": {"get": {"responses": {}}}, "/y": {"get": {"responses": {}}}}}')
    assert compat.main([str(tmp_path)]) == 1
    assert capsys.readouterr().out == "v1: openapi.json: GET /x: operation removed\n"
    accepted = tmp_path / "released" / "accepted.txt"
    accepted.write_text("# reviewed\nv1: openapi.json: GET /x: operation removed\n")
    with pytest.raises(ValueError, match="reason"):
        compat.main([str(tmp_path)])
    accepted.write_text("v1: openapi.json: GET /x: operation removed  # never served\n")
    assert compat.main([str(tmp_path)]) == 0


# OpenAPI
def _api() -> Doc:
    ref = {"$ref": "#/components/schemas/Thing"}
    return {
        "openapi": "3.1.0",
        "paths": {
            "/api/v1/things": {"post": {
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/NewThing"}}}},
                "responses": {"201": {"content": {"application/json": {"schema": ref}}},
                              "422": {"content": {"application/problem+json": {}}}},
                "security": [{"keycloak": []}]}},
            "/api/v1/things/{thing_id}": {"get": {
                "parameters": [
                    {"name": "thing_id", "in": "path", "required": True,
                     "schema": {"type": "string", "format": "uuid"}},
                    {"name": "language", "in": "query", "required": False,
                     "schema": {"type": "string", "maxLength": 16}}],
                "responses": {"200": {"content": {"application/json": {"schema": ref}}}},
                "security": [{"keycloak": []}]}},
            "/api/v1/public": {"get": {"responses": {"200": {"content": {
                "application/json": {"schema": {"type": "object"}}}}}}},
        },
        "components": {"schemas": {
            "NewThing": {"type": "object", "additionalProperties": False, "required": ["name"],
                         "properties": {
                             "name": {"type": "string", "maxLength": 100},
                             "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                             "size": {"type": "integer", "minimum": 0},
                             "colour": {"$ref": "#/components/schemas/Colour"}}},
            "Thing": {"type": "object", "required": ["thing_id", "name", "colour"],
                      "properties": {
                          "thing_id": {"type": "string", "format": "uuid"},
                          "name": {"type": "string"},
                          "colour": {"$ref": "#/components/schemas/Colour"},
                          "tags": {"type": "array", "items": {"type": "string"}},
                          "count": {"type": "integer"}}},
            "Colour": {"type": "string", "enum": ["red", "green"]},
        }},
    }


def _schema(doc: Doc, name: str) -> Doc:
    return doc["components"]["schemas"][name]  # type: ignore[no-any-return]


def _post(doc: Doc) -> Doc:
    return doc["paths"]["/api/v1/things"]["post"]  # type: ignore[no-any-return]


def _get(doc: Doc) -> Doc:
    return doc["paths"]["/api/v1/things/{thing_id}"]["get"]  # type: ignore[no-any-return]


def _header(name: str, required: bool) -> Doc:
    return {"name": name, "in": "header", "required": required, "schema": {"type": "string"}}


BREAKING_API: dict[str, tuple[Change, str]] = {
    "operation removed": (lambda d: d["paths"].pop("/api/v1/public"),
                          "GET /api/v1/public: operation removed"),
    "method removed": (lambda d: d["paths"]["/api/v1/things"].update(
        put=d["paths"]["/api/v1/things"].pop("post")), "POST /api/v1/things: operation removed"),
    "response field dropped": (lambda d: _schema(d, "Thing")["properties"].pop("count"),
                               "GET /api/v1/things/{thing_id} response 200.count: property "
                               "removed"),
    "response field renamed": (lambda d: _schema(d, "Thing")["properties"].update(
        labels=_schema(d, "Thing")["properties"].pop("tags")), "200.tags: property removed"),
    "response type changed": (lambda d: _schema(d, "Thing")["properties"]["count"].update(
        type="string"), "200.count: type changed from integer to string"),
    "response may be null": (lambda d: _schema(d, "Thing")["properties"].update(
        name={"anyOf": [{"type": "string"}, {"type": "null"}]}),
        "200.name: type changed from string to string | null"),
    "response array items changed": (lambda d: _schema(d, "Thing")["properties"]["tags"][
        "items"].update(type="integer"), "200.tags[]: type changed"),
    "response field optional": (lambda d: _schema(d, "Thing")["required"].remove("name"),
                                "200.name: no longer required"),
    "response enum value added": (lambda d: _schema(d, "Colour")["enum"].append("blue"),
                                  'response 201.colour: enum value "blue" added'),
    "response format changed": (lambda d: _schema(d, "Thing")["properties"]["thing_id"].pop(
        "format"), "200.thing_id: format changed from uuid to none"),
    "response status changed": (lambda d: _post(d)["responses"].update(
        {"200": _post(d)["responses"].pop("201")}), "POST /api/v1/things: response 201 removed"),
    "required request field added": (lambda d: (
        _schema(d, "NewThing")["properties"].update(kind={"type": "string"}),
        _schema(d, "NewThing")["required"].append("kind")),
        "POST /api/v1/things request body.kind: new required property"),
    "request field became required": (lambda d: _schema(d, "NewThing")["required"].append(
        "size"), "request body.size: became required"),
    "request field removed": (lambda d: _schema(d, "NewThing")["properties"].pop("note"),
                              "request body.note: property removed (unknown properties are "
                              "refused)"),
    "request type narrowed": (lambda d: _schema(d, "NewThing")["properties"].update(
        note={"type": "string"}), "request body.note: type changed from string | null to "
                                  "string"),
    "request type changed": (lambda d: _schema(d, "NewThing")["properties"]["size"].update(
        type="string"), "request body.size: type changed from integer to string"),
    "request enum value removed": (lambda d: _schema(d, "Colour")["enum"].remove("green"),
                                   'request body.colour: enum value "green" removed'),
    "request limit tightened": (lambda d: _schema(d, "NewThing")["properties"]["name"].update(
        maxLength=50), "request body.name: maxLength tightened from 100 to 50"),
    "request minimum raised": (lambda d: _schema(d, "NewThing")["properties"]["size"].update(
        minimum=1), "request body.size: minimum tightened from 0 to 1"),
    "request pattern added": (lambda d: _schema(d, "NewThing")["properties"]["name"].update(
        pattern="^[a-z]+$"), "request body.name: pattern changed"),
    "request body now required": (lambda d: _get(d).update(requestBody={
        "required": True, "content": {"application/json": {"schema": {"type": "object"}}}}),
        "GET /api/v1/things/{thing_id}: request body became required"),
    "new required header": (lambda d: _post(d).setdefault("parameters", []).append(
        _header("Idempotency-Key", True)),
        "POST /api/v1/things header parameter Idempotency-Key: new required parameter"),
    "new required query parameter": (lambda d: _get(d)["parameters"].append(
        {"name": "page", "in": "query", "required": True, "schema": {"type": "integer"}}),
        "query parameter page: new required parameter"),
    "query parameter became required": (lambda d: _get(d)["parameters"][1].update(
        required=True), "query parameter language: became required"),
    "query parameter removed": (lambda d: _get(d)["parameters"].pop(),
                                "query parameter language: parameter removed"),
    "query parameter tightened": (lambda d: _get(d)["parameters"][1]["schema"].update(
        maxLength=8), "query parameter language: maxLength tightened"),
    "security added": (lambda d: d["paths"]["/api/v1/public"]["get"].update(
        security=[{"keycloak": []}]), "GET /api/v1/public: now requires an access token"),
}

COMPATIBLE_API: dict[str, Change] = {
    "new optional request field": lambda d: _schema(d, "NewThing")["properties"].update(
        language={"type": "string", "default": "en"}),
    "new response field": lambda d: (_schema(d, "Thing")["properties"].update(
        created_on={"type": "string", "format": "date"}),
        _schema(d, "Thing")["required"].append("created_on")),
    "new operation": lambda d: d["paths"]["/api/v1/things/{thing_id}"].update(
        delete={"responses": {"204": {}}}),
    "new path": lambda d: d["paths"].update({"/api/v1/others": {"get": {"responses": {}}}}),
    "path parameter renamed": lambda d: _rename_path_parameter(d),
    "optional header added": lambda d: _post(d).setdefault("parameters", []).append(
        _header("Idempotency-Key", False)),
    "new error response": lambda d: _post(d)["responses"].update(
        {"429": {"content": {"application/problem+json": {}}},
         "413": {"content": {"application/problem+json": {}}}}),
    "request limit loosened": lambda d: _schema(d, "NewThing")["properties"]["name"].update(
        maxLength=200),
    "request accepts null too": lambda d: _schema(d, "NewThing")["properties"].update(
        size={"anyOf": [{"type": "integer"}, {"type": "null"}]}),
    "request integer to number": lambda d: _schema(d, "NewThing")["properties"]["size"].update(
        type="number"),
    "response field now always present": lambda d: _schema(d, "Thing")["required"].append(
        "count"),
    "request field became optional": lambda d: _schema(d, "NewThing")["required"].clear(),
    "descriptions and titles": lambda d: _schema(d, "Thing").update(
        title="A thing", description="Now described"),
    "inlined instead of referenced": lambda d: _post(d)["requestBody"]["content"][
        "application/json"].update(schema=copy.deepcopy(_schema(d, "NewThing"))),
}


def _rename_path_parameter(doc: Doc) -> None:
    item = doc["paths"].pop("/api/v1/things/{thing_id}")
    item["get"]["parameters"][0]["name"] = "id"
    doc["paths"]["/api/v1/things/{id}"] = item


@pytest.mark.parametrize(("change", "expected"), BREAKING_API.values(), ids=BREAKING_API.keys())
def test_openapi_breaking_change_is_caught(change: Change, expected: str) -> None:
    released, current = _api(), _api()
    change(current)
    found = compat.openapi_changes(released, current)
    assert any(expected in line for line in found), found


@pytest.mark.parametrize("change", COMPATIBLE_API.values(), ids=COMPATIBLE_API.keys())
def test_openapi_compatible_change_passes(change: Change) -> None:
    released, current = _api(), _api()
    change(current)
    assert compat.openapi_changes(released, current) == []


def test_removing_a_request_field_is_breaking_where_unknown_fields_are_ignored_too() -> None:
    """A client still sending it would be silently ignored, as a removed query parameter."""
    released, current = _api(), _api()
    for doc in (released, current):
        del _schema(doc, "NewThing")["additionalProperties"]
    _schema(current, "NewThing")["properties"].pop("note")
    assert compat.openapi_changes(released, current) == [
        "POST /api/v1/things request body.note: property removed (it would be silently "
        "ignored)"]


def test_a_request_body_that_now_ignores_unknown_fields_is_compatible() -> None:
    released, current = _api(), _api()
    del _schema(current, "NewThing")["additionalProperties"]
    assert compat.openapi_changes(released, current) == []


def test_a_new_response_field_is_fine_even_where_the_release_said_no_other_properties() -> None:
    """Partners read responses, and are told to ignore what they do not know: the release's
    `additionalProperties: false` on a response is not a promise about their readers."""
    released, current = _api(), _api()
    for doc in (released, current):
        _schema(doc, "Thing")["additionalProperties"] = False
    _schema(current, "Thing")["properties"]["created_on"] = {"type": "string"}
    assert compat.openapi_changes(released, current) == []


def test_an_enum_value_removed_from_a_response_only_is_fine() -> None:
    released, current = _api(), _api()
    _schema(current, "Thing")["properties"]["colour"] = {"type": "string", "enum": ["red"]}
    assert compat.openapi_changes(released, current) == []


def test_a_recursive_schema_is_compared_without_looping() -> None:
    node = {"type": "object", "properties": {
        "name": {"type": "string"},
        "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}
    released = {"$ref": "#/$defs/Node", "$defs": {"Node": node}}
    current = copy.deepcopy(released)
    current["$defs"]["Node"]["properties"]["name"]["type"] = "integer"
    assert compat.compare_schemas(released, released, "output") == []
    assert compat.compare_schemas(released, current, "output") == [
        "name: type changed from string to integer"]


# events and request-reply: the per-subject JSON Schemas
EVENT = "schemas/events/suara.evt.cases.case.opened.v1.json"
REQUEST = "schemas/rpc/suara.rpc.cases.v1.get.request.json"
REPLY = "schemas/rpc/suara.rpc.cases.v1.get.reply.json"


def _messages(closed: bool = False) -> dict[str, Doc]:
    """Message schemas as generated now (readers ignore unknown properties) or, `closed`, as in
    a release whose readers refused them (v1: `additionalProperties: false` everywhere)."""
    risk = {"$ref": "#/$defs/Risk"}
    no_others = {"additionalProperties": False} if closed else {}
    return {
        EVENT: {"type": "object", **no_others,
                "required": ["case_id", "status"], "$defs": {
                    "Risk": {"type": "string", "enum": ["normal", "high"]}},
                "properties": {"case_id": {"type": "string", "format": "uuid"},
                               "status": {"type": "string"},
                               "risk": {**risk, "default": "normal"},
                               "assigned_to": {"anyOf": [{"type": "string"},
                                                         {"type": "null"}]}}},
        REQUEST: {"type": "object", **no_others, "required": ["case_id"],
                  "properties": {"case_id": {"type": "string", "format": "uuid"},
                                 "language": {"type": "string", "default": "en"}}},
        REPLY: {"type": "object", **no_others,
                "required": ["case_id", "status"],
                "properties": {"case_id": {"type": "string", "format": "uuid"},
                               "status": {"type": "string"},
                               "answers": {"type": "object", "additionalProperties": {
                                   "type": "string"}},
                               "session": {"type": "object", **no_others, "properties": {
                                   "starts_at": {"type": "string", "format": "date-time"}}}}},
    }


def _props(docs: dict[str, Doc], name: str) -> Doc:
    return docs[name]["properties"]  # type: ignore[no-any-return]


BREAKING_MESSAGES: dict[str, tuple[Change, str]] = {
    "event subject removed": (lambda d: d.pop(EVENT), "suara.evt.cases.case.opened.v1: removed"),
    "event field dropped": (lambda d: _props(d, EVENT).pop("assigned_to"),
                            "case.opened.v1.assigned_to: property removed"),
    "event field type changed": (lambda d: _props(d, EVENT)["status"].update(type="integer"),
                                 "case.opened.v1.status: type changed from string to integer"),
    "event field made required": (lambda d: d[EVENT]["required"].append("risk"),
                                  "case.opened.v1.risk: became required"),
    "event field made optional": (lambda d: d[EVENT]["required"].remove("status"),
                                  "case.opened.v1.status: no longer required"),
    "required event field added": (lambda d: (
        _props(d, EVENT).update(reference={"type": "string"}),
        d[EVENT]["required"].append("reference")),
        "case.opened.v1.reference: new required property"),
    "event enum value added": (lambda d: d[EVENT]["$defs"]["Risk"]["enum"].append("urgent"),
                               'case.opened.v1.risk: enum value "urgent" added'),
    "event enum value removed": (lambda d: d[EVENT]["$defs"]["Risk"]["enum"].remove("high"),
                                 'case.opened.v1.risk: enum value "high" removed'),
    "event field may be null": (lambda d: _props(d, EVENT).update(
        status={"anyOf": [{"type": "string"}, {"type": "null"}]}),
        "case.opened.v1.status: type changed from string to string | null"),
    "rpc subject removed": (lambda d: (d.pop(REQUEST), d.pop(REPLY)),
                            "suara.rpc.cases.v1.get.request: removed"),
    "rpc request field required": (lambda d: (
        _props(d, REQUEST).update(actor={"type": "object"}), d[REQUEST]["required"].append(
            "actor")), "suara.rpc.cases.v1.get.request.actor: new required property"),
    "rpc request field removed": (lambda d: _props(d, REQUEST).pop("language"),
                                  "get.request.language: property removed (it would be "
                                  "silently ignored)"),
    "rpc reply field removed": (lambda d: _props(d, REPLY).pop("status"),
                                "suara.rpc.cases.v1.get.reply.status: property removed"),
    "rpc reply map values changed": (lambda d: _props(d, REPLY)["answers"][
        "additionalProperties"].update(type="integer"), "get.reply.answers{}: type changed"),
}

COMPATIBLE_MESSAGES: dict[str, Change] = {
    "new optional event field": lambda d: _props(d, EVENT).update(
        reference={"type": "string", "default": ""}),
    "new event subject": lambda d: d.update({
        "schemas/events/suara.evt.cases.case.merged.v1.json": {"type": "object"}}),
    "new optional rpc request field": lambda d: _props(d, REQUEST).update(
        limit={"type": "integer", "default": 50}),
    "new rpc reply field": lambda d: _props(d, REPLY).update(risk={"type": "string"}),
    "new rpc subject": lambda d: d.update({
        "schemas/rpc/suara.rpc.cases.v1.merge.request.json": {"type": "object"},
        "schemas/rpc/suara.rpc.cases.v1.merge.reply.json": {"type": "object"}}),
}


@pytest.mark.parametrize(("change", "expected"), BREAKING_MESSAGES.values(),
                         ids=BREAKING_MESSAGES.keys())
def test_message_breaking_change_is_caught(change: Change, expected: str) -> None:
    released, current = _messages(), _messages()
    change(current)
    found = compat.schema_file_changes(released, current)
    assert any(expected in line for line in found), found


@pytest.mark.parametrize("change", COMPATIBLE_MESSAGES.values(), ids=COMPATIBLE_MESSAGES.keys())
def test_message_compatible_change_passes(change: Change) -> None:
    released, current = _messages(), _messages()
    change(current)
    assert compat.schema_file_changes(released, current) == []


@pytest.mark.parametrize("change", COMPATIBLE_MESSAGES.values(), ids=COMPATIBLE_MESSAGES.keys())
def test_message_compatible_change_passes_against_a_closed_release_too_unless_it_adds(
        change: Change) -> None:
    released, current = _messages(closed=True), _messages()
    change(current)
    found = compat.schema_file_changes(released, current)
    assert all("readers of the release refuse" in line for line in found), found


NEW_MESSAGE_FIELDS: dict[str, tuple[Change, str]] = {
    "event": (lambda d: _props(d, EVENT).update(reference={"type": "string", "default": ""}),
              "suara.evt.cases.case.opened.v1.reference"),
    "rpc request": (lambda d: _props(d, REQUEST).update(limit={"type": "integer"}),
                    "suara.rpc.cases.v1.get.request.limit"),
    "rpc reply": (lambda d: _props(d, REPLY).update(risk={"type": "string"}),
                  "suara.rpc.cases.v1.get.reply.risk"),
    "nested in a reply": (lambda d: _props(d, REPLY)["session"]["properties"].update(
        mode={"type": "string"}), "suara.rpc.cases.v1.get.reply.session.mode"),
}


@pytest.mark.parametrize(("change", "where"), NEW_MESSAGE_FIELDS.values(),
                         ids=NEW_MESSAGE_FIELDS.keys())
def test_a_new_message_field_breaks_a_release_whose_readers_refused_unknown_ones(
        change: Change, where: str) -> None:
    """Its readers may still run during the upgrade: they would dead-letter, refuse or fail."""
    released, current = _messages(closed=True), _messages()
    change(current)
    assert compat.schema_file_changes(released, current) == [
        f"{where}: new property, which readers of the release refuse (they refused unknown "
        "properties)"]
    tolerant = _messages()
    assert compat.schema_file_changes(tolerant, current) == []


def test_readers_that_now_ignore_unknown_fields_are_compatible() -> None:
    """Loosening what a reader accepts, by itself, breaks no one."""
    assert compat.schema_file_changes(_messages(closed=True), _messages()) == []


def test_an_enum_value_removed_from_a_reply_is_fine_but_not_from_an_event() -> None:
    released, current = _messages(), _messages()
    _props(released, REPLY)["status"]["enum"] = ["open", "closed"]
    _props(current, REPLY)["status"]["enum"] = ["open"]
    assert compat.schema_file_changes(released, current) == []
    current[EVENT]["$defs"]["Risk"]["enum"] = ["high"]
    assert compat.schema_file_changes(released, current) == [
        'suara.evt.cases.case.opened.v1.risk: enum value "normal" removed']


# AsyncAPI
def _asyncapi() -> Doc:
    subject = "suara.evt.cases.case.opened.v1"
    return {
        "asyncapi": "3.0.0",
        "channels": {subject: {"address": subject, "messages": {
            "event": {"$ref": f"#/components/messages/{subject}"}}}},
        "operations": {f"publish.{subject}": {
            "action": "send", "channel": {"$ref": f"#/channels/{subject}"}}},
        "components": {
            "messages": {subject: {"payload": {"$ref": "#/components/schemas/Envelope"}}},
            "schemas": {
                "Envelope": {"type": "object", "required": ["id", "data"], "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "data": {"$ref": "#/components/schemas/CaseOpened"}}},
                "CaseOpened": {"type": "object", "required": ["case_id"], "properties": {
                    "case_id": {"type": "string", "format": "uuid"}}}}},
    }


def test_asyncapi_changes_are_caught_through_refs() -> None:
    released = _asyncapi()
    dropped = _asyncapi()
    dropped["components"]["schemas"]["CaseOpened"]["properties"].pop("case_id")
    assert "data.case_id: property removed" in "\n".join(
        compat.asyncapi_changes(released, dropped))
    gone = _asyncapi()
    gone["channels"].clear()
    assert compat.asyncapi_changes(released, gone) == [
        "channel suara.evt.cases.case.opened.v1: removed"]
    turned = _asyncapi()
    turned["operations"]["publish.suara.evt.cases.case.opened.v1"]["action"] = "receive"
    assert compat.asyncapi_changes(released, turned) == [
        "operation publish.suara.evt.cases.case.opened.v1: action changed from send to receive"]


def test_asyncapi_new_field_breaks_a_release_whose_readers_refused_unknown_ones() -> None:
    released, current = _asyncapi(), _asyncapi()
    released["components"]["schemas"]["CaseOpened"]["additionalProperties"] = False
    current["components"]["schemas"]["CaseOpened"]["properties"]["risk"] = {
        "type": "string", "default": "normal"}
    assert compat.asyncapi_changes(released, current) == [
        "channel suara.evt.cases.case.opened.v1 event.data.risk: new property, which readers "
        "of the release refuse (they refused unknown properties)"]


def test_asyncapi_new_channel_and_optional_field_pass() -> None:
    released, current = _asyncapi(), _asyncapi()
    current["channels"]["suara.evt.cases.case.merged.v1"] = {"address": "x", "messages": {}}
    current["components"]["schemas"]["CaseOpened"]["properties"]["risk"] = {
        "type": "string", "default": "normal"}
    assert compat.asyncapi_changes(released, current) == []
