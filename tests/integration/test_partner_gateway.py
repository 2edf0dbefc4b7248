"""Issue 7 through the running system: receipt checks are limited per reference (never per
address), and a partner client acts only for its own organisation."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select

from suara_devissuer.app import create_app as create_issuer
from suara_devissuer.settings import DevIssuerSettings
from suara_gateway.app import create_app as create_gateway
from suara_gateway.settings import GatewaySettings
from suara_intake.models import Submission
from suara_kit.auth import TokenValidator

REALM = Path(__file__).resolve().parents[2] / "deploy" / "keycloak" / "realm-suara.json"
ANSWERS = {"categories": ["unpaid-wages"], "country": "TH",
           "what_happened": "The broker keeps our wages for the recruitment fee."}
WRONG = "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GG"
PROBLEM = "application/problem+json"


def problem(reply: httpx.Response, status: int, says: str = "") -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == PROBLEM
    body: dict[str, Any] = reply.json()
    assert says in body["detail"], body
    return body


async def partner(issuer: httpx.AsyncClient, client: str) -> dict[str, str]:
    """A client-credentials token of a partner system."""
    reply = await issuer.post("/realms/suara/protocol/openid-connect/token",
                              data={"grant_type": "client_credentials"},
                              auth=(client, f"dev-secret-{client}"))
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


async def test_wrong_receipts_lock_one_reference_not_the_network(system: Any) -> None:
    """Every request comes from the same client, as from one dormitory's Wi-Fi: the reference
    tried too often is locked (429, Retry-After), the neighbour's is not."""
    http = system.http
    mine, neighbours = [(await http.post("/api/v1/reports", json={
        "organisation": "tenaganita", "answers": ANSWERS})).json() for _ in range(2)]
    wrong = {"reference": mine["reference"], "receipt": WRONG}
    statuses = [(await http.post("/api/v1/reports/lookup", json=wrong)).status_code
                for _ in range(10)]
    assert statuses == [404] * 10  # SUARA_INTAKE_RECEIPT_MAX_FAILURES (10)
    for receipt in (WRONG, mine["receipt"]):  # locked: even the right receipt waits
        locked = await http.post("/api/v1/reports/lookup",
                                 json={"reference": mine["reference"], "receipt": receipt})
        problem(locked, 429, "Wait 15 minutes")
        assert locked.headers["retry-after"] == "900"

    other = {"reference": neighbours["reference"], "receipt": neighbours["receipt"]}
    assert (await http.post("/api/v1/reports/lookup", json=other)).status_code == 200
    other_wrong = {"reference": neighbours["reference"], "receipt": WRONG}
    problem(await http.post("/api/v1/reports/lookup", json=other_wrong), 404)


async def test_a_partner_files_only_for_its_own_organisation(system: Any) -> None:
    http = system.http
    map_foundation = await partner(system.issuer, "partner-map-foundation")
    elsewhere = await http.post("/api/v1/partner/reports", headers=map_foundation, json={
        "organisation": "tenaganita", "answers": ANSWERS})
    assert problem(elsewhere, 422)["errors"][0]["field"] == "organisation"

    filed = await http.post("/api/v1/partner/reports", headers=map_foundation,
                            json={"answers": ANSWERS})
    assert filed.status_code == 201, filed.text
    reference = filed.json()["reference"]
    async with system.services["intake"].transaction() as session:
        stored = (await session.exec(
            select(Submission).where(Submission.reference == reference))).one()
    assert stored.organisation == "map-foundation"
    # another organisation's partner cannot even tell that the report exists
    tenaganita = await partner(system.issuer, "partner-tenaganita")
    problem(await http.post(f"/api/v1/assisted/reports/{reference}/claim-code",
                            headers=tenaganita), 404)


OTHER_ISSUER = "http://other-issuer.test"


@pytest.fixture
async def orphan_gateway(system: Any, nats_url: str, tmp_path: Path
                         ) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A gateway on the running services that trusts an issuer whose realm has one partner
    client more, `partner-orphan`, whose service account belongs to no organisation; and that
    client's token."""
    realm = json.loads(REALM.read_text(encoding="utf-8"))
    client = copy.deepcopy(next(c for c in realm["clients"]
                                if c["clientId"] == "partner-tenaganita"))
    client |= {"id": str(uuid.uuid4()), "clientId": "partner-orphan",
               "secret": "dev-secret-partner-orphan"}
    realm["clients"].append(client)
    realm["users"].append({"id": str(uuid.uuid4()), "username": "service-account-partner-orphan",
                           "enabled": True, "serviceAccountClientId": "partner-orphan",
                           "realmRoles": ["cso-partner"], "groups": []})
    (tmp_path / "realm.json").write_text(json.dumps(realm), encoding="utf-8")
    issuer_app = create_issuer(DevIssuerSettings(base_url=OTHER_ISSUER,
                                                 realm_file=tmp_path / "realm.json"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=issuer_app),
                                 base_url=OTHER_ISSUER) as issuer:
        validator = TokenValidator(issuer=f"{OTHER_ISSUER}/realms/suara", audience="suara-api",
                                   http=issuer)
        gateway = create_gateway(GatewaySettings(
            nats_url=nats_url, oidc_issuer=f"{OTHER_ISSUER}/realms/suara"), validator)
        async with gateway.router.lifespan_context(gateway):
            transport = httpx.ASGITransport(app=gateway)
            async with httpx.AsyncClient(transport=transport,
                                         base_url="http://gateway.test") as http:
                yield http, await partner(issuer, "partner-orphan")


async def test_a_partner_client_of_no_organisation_can_do_nothing(
        system: Any, orphan_gateway: tuple[httpx.AsyncClient, dict[str, str]]) -> None:
    http, orphan = orphan_gateway
    problem(await http.post("/api/v1/partner/reports", headers=orphan,
                            json={"answers": ANSWERS}), 403, "no organisation")
    problem(await http.get("/api/v1/webhooks", headers=orphan), 403, "no organisation")
    problem(await http.post("/api/v1/webhooks", headers=orphan, json={
        "url": "https://hooks.partner.example/", "event_types": ["case.opened"]}), 403)
    problem(await http.get("/api/v1/me/notifications", headers=orphan), 403)
    filed = await system.http.post("/api/v1/partner/reports", json={"answers": ANSWERS},
                                   headers=await partner(system.issuer, "partner-tenaganita"))
    problem(await http.post(f"/api/v1/assisted/reports/{filed.json()['reference']}/claim-code",
                            headers=orphan), 404)
