"""The committed contracts match the code, subjects follow the naming rules, and sample messages
conform to the committed schemas."""

from __future__ import annotations

import importlib.util
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, get_args
from uuid import UUID

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from suara_contracts.events import EVENT_TYPES, Envelope, SessionChanged, SubmissionReceived
from suara_contracts.rpc import CaseDetail, FormQuery
from suara_contracts.rpc_catalog import RPC_TYPES
from suara_contracts.subjects import HEALTH_SUBJECTS, Evt, Rpc
from suara_contracts.tolerant import Tolerant
from suara_gateway import api

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
EVENT_SUBJECT = re.compile(r"^suara\.evt\.(?P<producer>[a-z][a-z0-9-]*)\.[a-z][a-z0-9-]*"
                           r"\.[a-z][a-z0-9-]*\.v[1-9][0-9]*$")
RPC_SUBJECT = re.compile(r"^suara\.rpc\.(?P<service>[a-z][a-z0-9-]*)\.v[1-9][0-9]*"
                         r"\.[a-z][a-z0-9-]*$")
ID_LIKE = re.compile(r"^[0-9]+$|^(?=.*[0-9])[0-9a-f-]{8,}$")
Doc = dict[str, Any]


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("suara_contracts_generate",
                                                  CONTRACTS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load_generator()


def _committed(name: str) -> Doc:
    return json.loads((CONTRACTS / name).read_text(encoding="utf-8"))


def _committed_or_none(name: str) -> Doc | None:
    try:
        return _committed(name)
    except ValueError:
        return None


def _constants(cls: type) -> set[str]:
    return {v for k, v in vars(cls).items() if k.isupper() and isinstance(v, str)}


def _rpc_operations() -> set[str]:
    """Rpc constants that are subjects, not the `suara.rpc.<service>.v<N>` prefixes of others."""
    values = _constants(Rpc)
    return {v for v in values if not any(o.startswith(f"{v}.") for o in values)}


# (a) drift
def test_committed_contracts_match_a_fresh_generation() -> None:
    fresh = generate.build()
    on_disk = {name: _committed_or_none(name) for name in generate.committed(CONTRACTS)}
    drifted = sorted(name for name in fresh.keys() | on_disk.keys()
                     if fresh.get(name) != on_disk.get(name))
    assert not drifted, f"contracts drifted: run `make contracts` ({', '.join(drifted)})"


def test_committed_files_are_rendered_canonically() -> None:
    problems = generate.drift(CONTRACTS)
    assert not problems, f"contracts drifted: run `make contracts` ({', '.join(problems)})"


def test_check_names_missing_differing_and_stale_files(tmp_path: Path) -> None:
    docs = {"openapi.json": {"a": 1}, "schemas/events/x.json": {"b": 2}}
    (tmp_path / "schemas/events").mkdir(parents=True)
    (tmp_path / "openapi.json").write_text(generate.render({"a": 2}))
    (tmp_path / "schemas/events/old.json").write_text("{}\n")
    assert generate.drift(tmp_path, docs) == [
        "stale: schemas/events/old.json", "differs: openapi.json",
        "missing: schemas/events/x.json"]


# (b) catalogues are complete
def test_every_event_subject_has_a_model_and_back() -> None:
    assert _constants(Evt) == set(EVENT_TYPES)


def test_every_rpc_subject_has_request_and_reply_models_and_back() -> None:
    assert _rpc_operations() == set(RPC_TYPES)
    assert set(HEALTH_SUBJECTS.values()) <= set(RPC_TYPES)


# (c) naming rules
def _id_like_tokens(subject: str) -> list[str]:
    return [t for t in subject.split(".") if ID_LIKE.match(t)]


@pytest.mark.parametrize("subject", sorted(_constants(Evt)))
def test_event_subject_names_a_fact_of_a_known_service(subject: str) -> None:
    match = EVENT_SUBJECT.match(subject)
    assert match, f"{subject} is not suara.evt.<producer>.<entity>.<fact>.v<N>"
    assert match["producer"] in {s.split(".")[2] for s in RPC_TYPES}
    assert not _id_like_tokens(subject)


@pytest.mark.parametrize("subject", sorted(_rpc_operations()))
def test_rpc_subject_names_an_operation(subject: str) -> None:
    assert RPC_SUBJECT.match(subject), f"{subject} is not suara.rpc.<service>.v<N>.<operation>"
    assert not _id_like_tokens(subject)


@pytest.mark.parametrize("token", ["42", "3f2b9c1e", "3f2b9c1e-8a4d-4c1e-9b7a-2d6e1f0a9c3b"])
def test_id_like_tokens_are_recognised(token: str) -> None:
    assert _id_like_tokens(f"suara.rpc.cases.v1.{token}")


# (d) sample events conform to the committed schemas
CASE = UUID("7d4c5a1e-2b3f-4c6d-8e9f-0a1b2c3d4e5f")
SUBMISSION = UUID("1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d")
BOOKING = UUID("0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e")
MEDIATION = UUID("6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d")
WORKER_PARTY = {"party_id": UUID("2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a"), "role": "worker",
                "alias": "Worker A", "timezone": "Asia/Kuala_Lumpur", "language": "my"}
EMPLOYER_PARTY = {"party_id": UUID("4f5a6b7c-8d9e-4f0a-8b1c-2d3e4f5a6b7c"), "role": "employer",
                  "alias": "Employer HR", "timezone": "Asia/Kuala_Lumpur", "language": "en"}
SAMPLES: dict[str, Doc] = {
    Evt.SUBMISSION_RECEIVED: {
        "submission_id": SUBMISSION, "reference": "SU-7K3M-Q9XD", "organisation": "cso-east",
        "form_version": "2026-01", "language": "id", "risk": "high",
        "risk_reasons": ["passport-retention"], "received_on": date(2026, 3, 2),
        "answers": {"what_happened": "Paspor ditahan", "issues": ["wages", "passport"],
                    "contact": "+62 812 0000"}, "identifying": ["contact"]},
    Evt.CASE_OPENED: {
        "case_id": CASE, "submission_id": SUBMISSION, "reference": "SU-7K3M-Q9XD",
        "organisation": "cso-east", "status": "received", "acknowledge_by": date(2026, 3, 9)},
    Evt.CASE_STATUS_CHANGED: {
        "case_id": CASE, "submission_id": SUBMISSION, "organisation": "cso-east",
        "from_status": "received", "to_status": "acknowledged"},
    Evt.REPORTER_MESSAGE: {
        "message_id": UUID("5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"), "case_id": CASE,
        "submission_id": SUBMISSION, "organisation": "cso-east", "body": "We have your report."},
    Evt.REPORTER_FOLLOW_UP: {
        "follow_up_id": UUID("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"),
        "submission_id": SUBMISSION, "kind": "information", "text": "Gaji Maret juga belum.",
        "attachment_ids": [UUID("2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e")],
        "sent_on": date(2026, 3, 4)},
    Evt.SURVEY_ANSWERED: {
        "organisation": "cso-east", "quarter": "2026-Q1",
        "scores": {"fair": 4, "respectful": 5, "recommend": 3}},
    Evt.DEADLINE_BREACHED: {
        "case_id": CASE, "organisation": "cso-east", "kind": "acknowledge",
        "due_on": date(2026, 3, 9), "assigned_to": "staff-7"},
    Evt.CLUSTER_DETECTED: {
        "organisation": "cso-east", "respondent": "Maju Jaya Sdn Bhd",
        "case_ids": [CASE, UUID("3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f")], "window_days": 90},
    Evt.OBLIGATION_MISSED: {
        "case_id": CASE, "organisation": "cso-east",
        "agreement_id": UUID("6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c"),
        "obligation_id": UUID("7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"), "kind": "payment",
        "due_on": date(2026, 12, 10)},
    Evt.CASE_SHREDDED: {
        "case_id": CASE, "submission_id": UUID("5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"),
        "organisation": "cso-east", "shredded_on": date(2028, 3, 2)},
    Evt.SESSION_PROPOSED: {
        "session_id": UUID("9c0d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f"), "case_id": CASE,
        "organisation": "cso-east", "starts_at": datetime(2026, 3, 15, 2, tzinfo=UTC),
        "ends_at": datetime(2026, 3, 15, 3, tzinfo=UTC), "timezone": "Asia/Kuala_Lumpur",
        "mode": "in-person"},
    **{subject: {
        "booking_id": BOOKING, "mediation_id": MEDIATION, "case_id": CASE,
        "organisation": "cso-east", "starts_at": datetime(2026, 3, 15, 2, tzinfo=UTC),
        "ends_at": datetime(2026, 3, 15, 3, tzinfo=UTC), "timezone": "Asia/Kuala_Lumpur",
        "mode": "video", "sequence": sequence, "parties": [WORKER_PARTY, EMPLOYER_PARTY],
        "cancel_reason": reason}
       for subject, sequence, reason in ((Evt.SESSION_BOOKED, 0, None),
                                         (Evt.SESSION_RESCHEDULED, 1, None),
                                         (Evt.SESSION_CANCELLED, 2, "party-unavailable"))},
    **{subject: {
        "booking_id": BOOKING, "mediation_id": MEDIATION, "case_id": CASE,
        "organisation": "cso-east", "starts_at": datetime(2026, 3, 15, 2, tzinfo=UTC),
        "ends_at": datetime(2026, 3, 15, 3, tzinfo=UTC), "timezone": "Asia/Kuala_Lumpur",
        "sequence": 1, "party": WORKER_PARTY, "response": response}
       for subject, response in ((Evt.PARTY_RESPONDED, "accepted"),
                                 (Evt.PARTY_NO_SHOW, "no-show"))},
    **{subject: {
        "referral_id": UUID("3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"), "case_id": CASE,
        "linked_case_id": None if fact in ("created", "rejected") else CASE,
        "type": "referral", "from_organisation": "cso-east", "to_organisation": "cso-west",
        "from_status": None if fact == "created" else "pending", "to_status": to}
       for subject, fact, to in (
           (Evt.REFERRAL_CREATED, "created", "pending"),
           (Evt.REFERRAL_ACCEPTED, "accepted", "accepted"),
           (Evt.REFERRAL_REJECTED, "rejected", "rejected"),
           (Evt.REFERRAL_COMPLETED, "completed", "done"),
           (Evt.REFERRAL_REVOKED, "revoked", "revoked"))},
}
JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str, "integer": int, "number": (int, float), "boolean": bool,
    "array": list, "object": dict, "null": type(None)}


def _resolve(root: Doc, ref: str) -> Doc:
    node: Any = root
    for token in ref.removeprefix("#/").split("/"):
        node = node[token]
    return node


def _conforms(value: Any, schema: Doc, root: Doc) -> bool:
    """The subset of JSON Schema pydantic emits for these models; enough for a contract test."""
    if "$ref" in schema:
        return _conforms(value, _resolve(root, schema["$ref"]), root)
    if "anyOf" in schema:
        return any(_conforms(value, option, root) for option in schema["anyOf"])
    if "const" in schema and value != schema["const"]:
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if "type" in schema and not isinstance(value, JSON_TYPES[schema["type"]]):
        return False
    if isinstance(value, list):
        return all(_conforms(item, schema.get("items", {}), root) for item in value)
    if isinstance(value, dict):
        return _object_conforms(value, schema, root)
    return True


def _object_conforms(value: Doc, schema: Doc, root: Doc) -> bool:
    properties, extra = schema.get("properties", {}), schema.get("additionalProperties", True)
    if not set(schema.get("required", [])) <= value.keys():
        return False
    for key, item in value.items():
        rule = properties.get(key, extra)
        if rule is False or (isinstance(rule, dict) and not _conforms(item, rule, root)):
            return False
    return True


def test_every_event_has_a_sample() -> None:
    assert set(SAMPLES) == set(EVENT_TYPES)


@pytest.mark.parametrize("subject", sorted(SAMPLES))
def test_sample_event_round_trips_through_its_committed_schema(subject: str) -> None:
    model = EVENT_TYPES[subject]
    schema = _committed(f"schemas/events/{subject}.json")
    wire = json.loads(model(**SAMPLES[subject]).model_dump_json())
    assert set(wire) == set(schema["properties"])
    assert _conforms(wire, schema, schema)
    assert model.model_validate(wire) == model(**SAMPLES[subject])


@pytest.mark.parametrize("subject", sorted(SAMPLES))
def test_sample_envelope_conforms_to_the_asyncapi_payload(subject: str) -> None:
    model = EVENT_TYPES[subject]
    envelope = Envelope[model](  # type: ignore[valid-type]
        id=UUID("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"), type=subject, source="/suara/test",
        time=datetime(2026, 3, 2, tzinfo=UTC), data=model(**SAMPLES[subject]))
    doc = _committed("asyncapi.json")
    payload = doc["components"]["messages"][subject]["payload"]
    wire = json.loads(envelope.model_dump_json())
    assert _conforms(wire, payload, doc)
    assert not _conforms({**wire, "data": {}}, payload, doc)


# (e) readers tolerate a newer producer's fields; code that builds a message does not
def _models(roots: object) -> set[type[BaseModel]]:
    """Every model reachable from `roots` through field annotations."""
    found: set[type[BaseModel]] = set()
    todo = list(roots)  # type: ignore[call-overload]
    while todo:
        model = todo.pop()
        if model not in found:
            found.add(model)
            todo += [m for f in model.model_fields.values() for m in _in(f.annotation)]
    return found


def _in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _in(arg)]


MESSAGES = _models({*EVENT_TYPES.values(), *(m for pair in RPC_TYPES.values() for m in pair),
                    *(Envelope[m] for m in EVENT_TYPES.values())})


@pytest.mark.parametrize("model", sorted(MESSAGES, key=lambda m: m.__name__),
                         ids=lambda m: m.__name__)
def test_every_message_model_ignores_unknown_fields_when_read(model: type[BaseModel]) -> None:
    assert issubclass(model, Tolerant)
    assert model.model_config.get("extra") == "ignore"


@pytest.mark.parametrize("subject", sorted(SAMPLES))
def test_an_event_with_fields_added_later_is_read_keeping_the_known_ones(subject: str) -> None:
    model = EVENT_TYPES[subject]
    known = model(**SAMPLES[subject])
    wire = json.loads(known.model_dump_json())
    newer = {**wire, "added_later": {"nested": True}, "priority": 3}
    for value in newer.values():  # nested models too (parties, party)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and "party_id" in item:
                item["pronouns"] = "they"
    assert model.model_validate(newer) == known
    assert model.model_validate_json(json.dumps(newer)) == known
    envelope = {"specversion": "1.0", "id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
                "type": subject, "source": "/suara/test", "time": "2026-03-02T00:00:00Z",
                "datacontenttype": "application/json", "partitionkey": "cso-east",
                "data": newer}
    assert Envelope[model].model_validate(envelope).data == known  # type: ignore[valid-type]


@pytest.mark.parametrize("subject", sorted(SAMPLES))
def test_the_committed_message_schemas_allow_other_properties(subject: str) -> None:
    """Published for consumers: a reader of these must ignore what it does not know."""
    text = json.dumps(_committed(f"schemas/events/{subject}.json"))
    assert '"additionalProperties": false' not in text


def test_a_reply_with_fields_added_later_is_read_keeping_the_known_ones() -> None:
    detail = {"case_id": str(CASE), "reference": "SU-7K3M-Q9XD", "organisation": "cso-east",
              "status": "received", "risk": "high", "risk_reasons": ["passport-retention"],
              "received_on": "2026-03-02", "acknowledge_by": "2026-03-09", "language": "id",
              "answers": {"what_happened": "Paspor ditahan"},
              "sealed_identity": ["contact"], "escalated_to": "director",
              "messages": [{"message_id": str(SUBMISSION), "author": "staff-7",
                            "from_reporter": False, "kind": "to-reporter", "body": "Noted.",
                            "sent_on": "2026-03-03", "read_on": "2026-03-04"}]}
    read = CaseDetail.model_validate_json(json.dumps(detail))
    assert read.sealed_identity == ["contact"]
    assert read.messages[0].body == "Noted."
    assert "escalated_to" not in read.model_dump()
    assert "read_on" not in read.messages[0].model_dump()


def test_building_a_message_with_an_unknown_field_is_still_refused() -> None:
    """A misspelt optional field would otherwise vanish and leave its default: here, answers
    that identify the worker would not be marked so."""
    sample = {**SAMPLES[Evt.SUBMISSION_RECEIVED]}
    sample["identifiyng"] = sample.pop("identifying")
    with pytest.raises(ValidationError, match="identifiyng") as refused:
        SubmissionReceived(**sample)
    assert refused.value.errors()[0]["type"] == "extra_forbidden"
    with pytest.raises(ValidationError, match=r"parties\.0\.alias_"):
        SessionChanged(**{**SAMPLES[Evt.SESSION_BOOKED],
                          "parties": [{**WORKER_PARTY, "alias_": "W"}]})
    with pytest.raises(ValidationError, match="languag"):
        FormQuery(languag="th")  # type: ignore[call-arg]
    assert SubmissionReceived.model_validate(sample).identifying == []  # what reading does


# (f) the public API
def test_openapi_snapshot_lists_every_api_operation_and_the_probes() -> None:
    paths = _committed("openapi.json")["paths"]
    routes = {(r.path, m.lower()) for r in api.router.routes if isinstance(r, APIRoute)
              for m in r.methods}
    documented = {(path, method) for path, ops in paths.items() for method in ops}
    assert routes
    assert routes <= documented
    assert {"/healthz", "/readyz"} <= set(paths)
    assert {p for p in paths if not p.startswith("/api/v1/")} == {"/healthz", "/readyz"}


def test_every_api_operation_with_input_documents_422() -> None:
    paths = _committed("openapi.json")["paths"]
    operations = [(path, method, op) for path, ops in paths.items() if path.startswith("/api/v1")
                  for method, op in ops.items()]
    with_input = [(p, m, op) for p, m, op in operations if op.get("parameters")
                  or op.get("requestBody")]
    assert with_input
    assert [(p, m) for p, m, op in with_input if "422" not in op["responses"]] == []
