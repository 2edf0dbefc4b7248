"""Issue 7: schemathesis over every operation of the gateway's OpenAPI, each called with a token
of a role the operation admits (none for the reporters' routes): no server error, and every
response is one the operation documents, with its documented media type, headers and shape.

The running system is costly to start and per test, which schemathesis' own pytest
parametrisation cannot share, so one test starts it (SQLite only: the schema the gateway
promises does not depend on the database behind it) and walks the operations. Their cases are
drawn before, with hypothesis, derandomised so CI sends the same ones on every run: per
operation 10 positive cases, every other one aimed at things that exist (a case, a mediation, a
booking, a referral... made before the walk, so success responses are checked too), and 4
negative ones; about 1,400 requests, half a minute. Each goes through the gateway's ASGI client
and is judged by schemathesis' checks; the roles come from the access matrix's table. The
document is fuzzed as served, nothing relaxed.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import select

from suara_gateway.app import create_app
from suara_kit.testing import eventually
from suara_mediation.models import KnownCase

BASE_URL = "http://gateway.test"
MATRIX = Path(__file__).resolve().parents[1] / "integration" / "test_access_matrix.py"
ISSUER_TOKEN = "/realms/suara/protocol/openid-connect/token"
KL = ZoneInfo("Asia/Kuala_Lumpur")
ANSWERS = {"categories": ["unpaid-wages"], "country": "MY", "origin": "MM",
           "what_happened": "Fuzz: no wages since June."}

# cases per operation: positive (half with generated ids, half aimed at things that exist), and
# negative; under a minute in all, and fewer than a token's burst of requests per account
POSITIVE_CASES, NEGATIVE_CASES = 10, 4
CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance)
# values an aimed case puts in any field of that name: the schema cannot say what exists
MEANINGFUL = {"timezone": "Asia/Kuala_Lumpur", "country": "MY", "destination": "MY",
              "origin": "MM", "organisation": "tenaganita", "to_organisation": "map-foundation",
              "language": "en", "worker_language": "en", "languages": ["en"]}
# the account used for a role (the first role of an operation's that is listed here)
ACCOUNTS = {"case-handler": "handler.tenaganita", "mediator": "mediator.tenaganita",
            "worker-committee": "committee", "cso-partner": "partner-tenaganita",
            "employer-liaison": "liaison", "admin": "admin"}
PARTNER_SECRET = "dev-secret-partner-tenaganita"
SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large,
                HealthCheck.large_base_example]


def _access_matrix() -> ModuleType:
    """The access matrix's table of staff routes and their roles (one source of truth)."""
    spec = importlib.util.spec_from_file_location("suara_access_matrix", MATRIX)
    assert spec is not None
    assert spec.loader is not None
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # for dataclasses
    spec.loader.exec_module(module)
    return module


matrix = _access_matrix()


@pytest.fixture
def db_backend() -> str:
    """SQLite only: the schema conformance of the gateway does not depend on the database."""
    return "sqlite"


def role_for(label: str) -> str | None:
    """The role whose token calls an operation; None for a public one (no token)."""
    if label in matrix.PUBLIC or not label.split(" ", 1)[1].startswith(matrix.PREFIX):
        return None
    assert label in matrix.POLICIES, f"{label}: not in the access matrix, so no role to use"
    roles = matrix.POLICIES[label].roles
    if roles == matrix.ANY_TOKEN:
        return "case-handler"
    return next(role for role in ACCOUNTS if role in roles)


@dataclass
class Known:
    """Things that exist before the walk: path parameters by name, and a reporter's proof."""

    path: dict[str, str] = field(default_factory=dict)
    reference: str = ""
    receipt: str = ""


def _ok(reply: Any, status: int, what: str) -> Any:
    assert reply.status_code == status, f"setup: {what}: {reply.status_code} {reply.text}"
    return reply.json()


async def _opened(system: Any, handler: dict[str, str], reference: str) -> str:
    async def case_id() -> str | None:
        items = (await system.http.get("/api/v1/cases", headers=handler)).json()["items"]
        return next((c["case_id"] for c in items if c["reference"] == reference), None)

    found = str(await eventually(case_id))
    mediation = system.services["mediation-scheduling"]

    async def known() -> bool:
        async with mediation.transaction() as session:
            return any(str(k.case_id) == found for k in await session.exec(select(KnownCase)))

    await eventually(known)
    return found


async def build_known(system: Any, auth: dict[str, dict[str, str]]) -> Known:
    """A reported case of Tenaganita with a referral, a share with the liaison, a mediation
    with a held booking and an agreement; a report filed by the handler; a remedy route."""
    http, handler, mediator = system.http, auth["case-handler"], auth["mediator"]
    known = Known(path={"version": "1"})
    receipt = _ok(await http.post("/api/v1/reports", json={
        "organisation": "tenaganita", "answers": ANSWERS}), 201, "report")
    known.reference, known.receipt = receipt["reference"], receipt["receipt"]
    case_id = known.path["case_id"] = await _opened(system, handler, known.reference)
    base = f"/api/v1/cases/{case_id}"
    assisted = _ok(await http.post("/api/v1/assisted/reports", headers=handler, json={
        "answers": ANSWERS}), 201, "assisted")
    known.path["reference"] = assisted["reference"]
    _ok(await http.post(f"{base}/consents", headers=handler, json={
        "to_organisation": "any", "share_profile": "minimal",
        "obtained": "Fuzz: the worker said yes."}), 201, "consent")
    known.path["referral_id"] = (_ok(await http.post(f"{base}/referrals", headers=handler,
        json={"to_organisation": "map-foundation", "share_profile": "minimal"}), 201,
        "referral"))["referral_id"]
    share = _ok(await http.post(f"{base}/liaison-shares", headers=handler, json={
        "liaison": matrix.LIAISON_ID, "summary": "Fuzz: wages unpaid."}), 201, "share")
    known.path["alias"], known.path["share_id"] = share["alias"], share["share_id"]
    hours = [{"weekday": d, "start": "07:00", "end": "21:00"} for d in range(1, 8)]
    resource_id = (_ok(await http.post("/api/v1/mediation/resources", headers=mediator,
        json={"kind": "mediator", "name": "Fuzz mediator", "timezone": "Asia/Kuala_Lumpur",
              "weekly_hours": hours}), 201, "resource"))["resource_id"]
    known.path["resource_id"] = resource_id
    mediation = _ok(await http.post(f"{base}/mediations", headers=mediator, json={
        "parties": [{"role": "worker", "alias": "Worker", "timezone": "Asia/Kuala_Lumpur"},
                    {"role": "employer", "alias": "HR", "timezone": "Asia/Kuala_Lumpur"}]}),
        201, "mediation")
    known.path["mediation_id"] = mediation["mediation_id"]
    known.path["party_id"] = mediation["parties"][0]["party_id"]
    start = (datetime.now(KL) + timedelta(days=3)).replace(hour=10, minute=0, second=0,
                                                           microsecond=0)
    hold = _ok(await http.post(f"/api/v1/mediations/{mediation['mediation_id']}/holds",
        headers={**mediator, "Idempotency-Key": "fuzz-hold"}, json={
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
            "resources": [resource_id]}), 201, "hold")
    known.path["booking_id"] = hold["booking_id"]
    agreement = _ok(await http.post(f"{base}/agreements", headers=mediator, json={
        "obligations": [{"kind": "apology", "description": "Fuzz apology",
                         "due_on": (start + timedelta(days=30)).date().isoformat()}],
        "worker_language": "en"}), 201, "agreement")
    known.path["agreement_id"] = agreement["agreement_id"]
    known.path["obligation_id"] = agreement["obligations"][0]["obligation_id"]
    routes = _ok(await http.get("/api/v1/remedies", params={"destination": "MY"}), 200,
                       "remedies")
    known.path["route_id"] = routes["routes"][0]["id"]
    return known


async def tokens(system: Any) -> dict[str, dict[str, str]]:
    """An Authorization header per role."""
    found = {}
    for role, account in ACCOUNTS.items():
        if role == "cso-partner":
            reply = await system.issuer.post(ISSUER_TOKEN, data={
                "grant_type": "client_credentials"}, auth=(account, PARTNER_SECRET))
            assert reply.status_code == 200, reply.text
            found[role] = {"Authorization": f"Bearer {reply.json()['access_token']}"}
        else:
            found[role] = await system.auth(account)
    return found


def draw(strategy: st.SearchStrategy[Case], count: int) -> list[Case]:
    """Up to `count` cases, the same on every run (derandomised, no example database)."""
    cases: list[Case] = []

    @settings(max_examples=count, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=SLOW_IS_FINE)
    @given(strategy)
    def collect(case: Case) -> None:
        cases.append(case)

    if count:
        try:
            collect()
        except Unsatisfiable:  # nothing to negate (an operation without parameters or body)
            pass
    return cases


def meaningful(node: Any) -> Any:
    """`node` with the values named in MEANINGFUL put where their names are, at any depth."""
    if isinstance(node, list):
        return [meaningful(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {key: MEANINGFUL[key] if key in MEANINGFUL else meaningful(value)
            for key, value in node.items()}


def aim(case: Case, known: Known) -> Case:
    """Point a generated case at things that exist: their ids in the path, the known
    reporter's reference and receipt, and values only a running system knows (a time zone, a
    member organisation) wherever the body or query has a field of that name."""
    for name in case.path_parameters or {}:
        if name in known.path:
            case.path_parameters[name] = known.path[name]
    if case.query:
        case.query = meaningful(case.query)
    if isinstance(case.body, dict):
        case.body = meaningful(case.body)
        for name, value in (("reference", known.reference), ("receipt", known.receipt)):
            if name in case.body:
                case.body[name] = value
    return case


@dataclass
class Drawn:
    """An operation's cases: positive (every other one to be aimed at things that exist) and
    negative."""

    operation: APIOperation
    positive: list[Case]
    negative: list[Case]


@pytest.fixture(scope="module")
def drawn() -> list[Drawn]:
    """Every operation's cases, drawn before the system starts: drawing is slow and blocking,
    and would starve the services sharing the test's event loop."""
    schema = schemathesis.openapi.from_dict(create_app().openapi())
    found = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):  # an operation schemathesis cannot read is a failure
            raise result.err()
        operation = result.ok()
        negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
        found.append(Drawn(operation, draw(operation.as_strategy(), POSITIVE_CASES),
                           draw(negative, NEGATIVE_CASES)))
    return found


async def send(http: httpx.AsyncClient, case: Case, headers: dict[str, str]) -> httpx.Response:
    """The case as schemathesis would send it, through the gateway's ASGI client."""
    prepared = requests.Request(**case.as_transport_kwargs(base_url=BASE_URL,
                                                           headers=headers)).prepare()
    sent = {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}
    return await http.request(str(prepared.method), str(prepared.url), headers=sent,
                              content=prepared.body)


def judge(case: Case, response: httpx.Response) -> str | None:
    """What the checks found wrong with a response, or None."""
    try:
        case.validate_response(response, checks=list(CHECKS))
    except (AssertionError, FailureGroup) as exc:  # one failure, or several
        return str(exc)
    return None


async def test_every_operation_conforms(drawn: list[Drawn], system: Any) -> None:
    served = (await system.http.get("/api/v1/openapi.json")).json()
    assert served == create_app().openapi(), "the cases were drawn from another document"
    assert len(drawn) == sum(len(item) for item in served["paths"].values())  # every one
    auth = await tokens(system)
    known = await build_known(system, auth)
    failures: list[str] = []
    for item in drawn:
        role = role_for(item.operation.label)
        headers = auth[role] if role else {}
        cases = [aim(c, known) if i % 2 else c for i, c in enumerate(item.positive)]
        for case in [*cases, *item.negative]:
            found = judge(case, await send(system.http, case, headers))
            if found:
                failures.append(f"{item.operation.label} (as {role or 'anonymous'}):\n{found}")
    assert not failures, f"{len(failures)} cases failed:\n\n" + "\n\n".join(failures)

