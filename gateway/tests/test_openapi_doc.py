"""What `openapi_doc` adds to every operation: Idempotency-Key once per POST (a route's own header
counts, whatever its case), 413 on bodies, 429 where a token is read, 503 everywhere; shared
components, and no object shared between two operations."""

from __future__ import annotations

from typing import Any

from suara_gateway import openapi_doc

Doc = dict[str, Any]
OK = {"description": "Successful Response"}
TOKEN = [{"keycloak": []}]


def document(**operations: Doc) -> Doc:
    """A document with one path per operation, named `/api/v1/<name>` (`post_x` is a POST)."""
    paths: Doc = {}
    for name, operation in operations.items():
        method, _, path = name.partition("_")
        paths.setdefault(f"/api/v1/{path}", {})[method] = operation
    return {"openapi": "3.1.0", "paths": paths, "components": {"schemas": {}}}


def corrected(**operations: Doc) -> Doc:
    return openapi_doc.corrected(document(**operations))


def key_parameters(doc: Doc, op: Doc) -> list[Doc]:
    found = []
    for parameter in op.get("parameters", []):
        if "$ref" in parameter:
            parameter = doc["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        if parameter["in"] == "header" and parameter["name"].lower() == "idempotency-key":
            found.append(parameter)
    return found


def test_a_post_gets_the_shared_key_its_replay_header_and_the_409() -> None:
    doc = corrected(post_things={"responses": {"201": dict(OK)}, "security": TOKEN,
                                 "requestBody": {"content": {"application/json": {}}}})
    op = doc["paths"]["/api/v1/things"]["post"]
    assert op["parameters"] == [{"$ref": "#/components/parameters/IdempotencyKey"}]
    assert op["responses"]["201"]["headers"] == {
        "Idempotent-Replayed": {"$ref": "#/components/headers/IdempotentReplayed"}}
    assert op["responses"]["409"] == {"$ref": "#/components/responses/IdempotencyInFlight"}
    assert op["responses"]["413"] == {"$ref": "#/components/responses/TooLarge"}
    assert op["responses"]["429"] == {"$ref": "#/components/responses/TooManyRequests"}
    assert op["responses"]["503"] == {"$ref": "#/components/responses/ServiceUnavailable"}
    for kind, name in (("parameters", "IdempotencyKey"), ("responses", "TooManyRequests"),
                       ("headers", "RetryAfter"), ("headers", "IdempotentReplayed")):
        assert name in doc["components"][kind]


def test_a_route_with_its_own_key_header_in_any_case_keeps_only_that_one() -> None:
    own = {"name": "idempotency-KEY", "in": "header", "required": True,
           "schema": {"type": "string"}}
    conflict = {"description": "Conflicts with the current state"}
    doc = corrected(post_holds={"parameters": [own], "responses": {
        "201": dict(OK), "409": conflict}, "security": TOKEN})
    op = doc["paths"]["/api/v1/holds"]["post"]
    assert key_parameters(doc, op) == [own]
    assert op["responses"]["409"] == conflict  # its own conflicts, as it says
    assert "headers" in op["responses"]["201"]  # it replays too


def test_a_routes_own_409_also_names_the_key_in_flight_without_touching_another_route() -> None:
    shared = {"description": "Conflicts with the current state"}
    doc = corrected(post_a={"responses": {"200": OK, "409": shared}},
                    post_b={"responses": {"200": OK, "409": shared}},
                    put_a={"responses": {"200": OK, "409": shared}})
    for path in ("/api/v1/a", "/api/v1/b"):
        conflict = doc["paths"][path]["post"]["responses"]["409"]
        assert conflict["description"].count("Idempotency-Key is still being processed") == 1
        assert conflict["headers"]["Retry-After"] == {
            "$ref": "#/components/headers/RetryAfterInFlight"}
    assert doc["paths"]["/api/v1/a"]["put"]["responses"]["409"] == {
        "description": "Conflicts with the current state"}
    assert OK == {"description": "Successful Response"}, "a shared response was changed"


def test_only_posts_take_the_key_and_only_token_routes_the_rate_limit() -> None:
    doc = corrected(get_public={"responses": {"200": dict(OK)}},
                    put_things={"responses": {"200": dict(OK)}, "security": TOKEN,
                                "requestBody": {"content": {"application/json": {}}}})
    public = doc["paths"]["/api/v1/public"]["get"]
    assert "parameters" not in public
    assert set(public["responses"]) == {"200", "503"}
    put = doc["paths"]["/api/v1/things"]["put"]
    assert "parameters" not in put
    assert set(put["responses"]) == {"200", "400", "413", "429", "503"}
    assert "headers" not in put["responses"]["200"]


def test_a_429_a_route_documents_itself_gets_retry_after() -> None:
    locked = {"description": "Too many attempts"}
    doc = corrected(post_lookup={"responses": {"200": dict(OK), "429": locked}})
    answered = doc["paths"]["/api/v1/lookup"]["post"]["responses"]["429"]
    assert answered["description"] == "Too many attempts"
    assert answered["headers"]["Retry-After"] == {"$ref": "#/components/headers/RetryAfter"}
    assert locked == {"description": "Too many attempts"}


def test_paths_outside_the_api_are_left_alone() -> None:
    doc = openapi_doc.corrected({"paths": {"/healthz": {"get": {"responses": {"200": OK}}},
                                           "/x": {"post": {"responses": {"200": OK}}}}})
    assert doc["paths"]["/healthz"]["get"] == {"responses": {"200": OK}}
    assert doc["paths"]["/x"]["post"] == {"responses": {"200": OK}}
