"""Weekly hours and quiet hours are local wall-clock times, read in the time zone sent with them:
a time with a UTC offset is refused with a 422 that says so, before any service is asked (an
offset used to be dropped without a word, or stored and then break every slot proposal), and a
local time reaches the service as it was meant."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Any
from uuid import uuid4

import httpx
import nats
import pytest
from nats.aio.msg import Msg
from pydantic import BaseModel

from suara_contracts.mediation import MediationView, PartyView, ResourceView
from suara_contracts.notifications import ReporterContactView, StaffPreferencesView
from suara_contracts.rpc import ReportStatus
from suara_contracts.subjects import Rpc as S

Sign = Callable[..., str]
CASE = uuid4()
RECEIPT = {"reference": "SU-K7M2-9QXD", "receipt": "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GG"}
RESOURCE = {"kind": "mediator", "name": "Mediator Aisyah", "timezone": "Asia/Kuala_Lumpur"}
PARTY = {"role": "worker", "alias": "Worker A", "timezone": "Asia/Yangon"}
CONTACT = {**RECEIPT, "channel": "sms", "address": "+62 812 3456 7890",
           "timezone": "Asia/Jakarta"}
PREFERENCES = {"email": "ani@tenaganita.example", "timezone": "Asia/Kuala_Lumpur"}
OFFSETS = ["21:15+08:00", "09:00:00Z", "09:00:00.5-05:30", "09:00:00+0630"]


def staff(sign: Sign, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {sign(realm_access={'roles': [role]})}"}


def resource(hours: list[dict[str, Any]] | None = None,
             overrides: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {**RESOURCE, "weekly_hours": hours or [], "date_overrides": overrides or []}


def inputs(sign: Sign, value: str) -> list[tuple[str, str, dict[str, str], dict[str, Any], str]]:
    """Every API input that takes a local time: (method, path, headers, body, field)."""
    mediator, handler = staff(sign, "mediator"), staff(sign, "case-handler")
    hours = {"weekday": 1, "start": value, "end": "17:00"}
    return [
        ("POST", "/api/v1/mediation/resources", mediator, resource([hours]),
         "weekly_hours.0.start"),
        ("PUT", f"/api/v1/mediation/resources/{uuid4()}", mediator,
         resource(overrides=[{"date": "2026-12-24", "hours": [
             {"start": "08:00", "end": value}]}]), "date_overrides.0.hours.0.end"),
        ("POST", f"/api/v1/cases/{CASE}/mediations", mediator,
         {"parties": [{**PARTY, "quiet_hours": {"start": "22:00", "end": value}}]},
         "parties.0.quiet_hours.end"),
        ("PUT", "/api/v1/me/notifications", handler,
         {**PREFERENCES, "quiet_from": value, "quiet_until": "07:00"}, "quiet_from"),
        ("POST", "/api/v1/reports/contact", {},
         {**CONTACT, "quiet_from": "21:00", "quiet_until": value}, "quiet_until"),
    ]


@pytest.mark.parametrize("value", OFFSETS)
async def test_a_time_with_an_offset_is_a_422_saying_it_is_local(
        client: httpx.AsyncClient, sign: Sign, value: str) -> None:
    for method, path, headers, body, field in inputs(sign, value):
        reply = await client.request(method, path, headers=headers, json=body)
        assert reply.status_code == 422, (path, reply.text)
        problem = reply.json()
        assert reply.headers["content-type"] == "application/problem+json"
        [error] = problem["errors"]
        assert error["field"] == field, (path, problem)
        assert "local time without a UTC offset" in error["message"]
        assert "time zone given with it (`timezone`)" in error["message"]
        assert problem["detail"] == f"{field}: {error['message']}"
        assert value not in reply.text  # the input is never echoed


@pytest.mark.parametrize("value", ["9:00", "0900", "09:00:00,5", "09:00:00.1234567", "24:00",
                                   "", 3600])
async def test_other_spellings_of_a_time_are_refused_too(client: httpx.AsyncClient, sign: Sign,
                                                          value: Any) -> None:
    for method, path, headers, body, field in inputs(sign, value):
        reply = await client.request(method, path, headers=headers, json=body)
        assert reply.status_code == 422, (path, reply.text)
        [error] = reply.json()["errors"]
        assert error["field"] == field
        assert "HH:MM or HH:MM:SS" in error["message"]


@asynccontextmanager
async def services(nats_url: str, replies: dict[str, Callable[[dict[str, Any]], BaseModel]]
                   ) -> AsyncIterator[dict[str, dict[str, Any]]]:
    """Stand-ins answering `replies`' subjects; yields each subject's last request."""
    nc = await nats.connect(nats_url)
    seen: dict[str, dict[str, Any]] = {}

    async def answer(msg: Msg) -> None:
        seen[msg.subject] = json.loads(msg.data)
        await msg.respond(replies[msg.subject](seen[msg.subject]).model_dump_json().encode())

    for subject in replies:
        await nc.subscribe(subject, cb=answer)
    await nc.flush()
    try:
        yield seen
    finally:
        await nc.close()


def echo_resource(command: dict[str, Any]) -> ResourceView:
    fields = {k: v for k, v in command.items() if k not in {"actor", "resource_id"}}
    return ResourceView(**fields, resource_id=uuid4(), organisation="tenaganita")


def echo_preferences(command: dict[str, Any]) -> StaffPreferencesView:
    return StaffPreferencesView(registered=True, organisation="tenaganita",
                                preferences=command["preferences"])


def found(_: dict[str, Any]) -> ReportStatus:
    return ReportStatus(reference=RECEIPT["reference"], submission_id=uuid4(),
                        status="received", received_on=date(2026, 11, 24))


def echo_contact(command: dict[str, Any]) -> ReporterContactView:
    return ReporterContactView(channel=command["channel"], masked="••••••90",
                               quiet_from=command["quiet_from"],
                               quiet_until=command["quiet_until"])


async def test_local_times_reach_the_services_as_sent(client: httpx.AsyncClient, sign: Sign,
                                                       nats_url: str) -> None:
    mediator, handler = staff(sign, "mediator"), staff(sign, "case-handler")
    replies = {S.MEDIATION_RESOURCE_CREATE: echo_resource,
               S.NOTIFICATION_STAFF_SET: echo_preferences, S.INTAKE_STATUS: found,
               S.NOTIFICATION_CONTACT_SET: echo_contact}
    async with services(nats_url, replies) as seen:
        made = await client.post("/api/v1/mediation/resources", headers=mediator, json=resource(
            [{"weekday": 1, "start": "09:00", "end": "17:30:15.25"}],
            [{"date": "2026-12-24", "hours": [{"start": "08:00:00", "end": "12:00"}]}]))
        assert made.status_code == 201, made.text
        sent = seen[S.MEDIATION_RESOURCE_CREATE]
        assert sent["weekly_hours"] == [{"weekday": 1, "start": "09:00:00",
                                         "end": "17:30:15.250000"}]
        assert sent["date_overrides"][0]["hours"] == [{"start": "08:00:00", "end": "12:00:00"}]
        assert made.json()["weekly_hours"] == sent["weekly_hours"]

        saved = await client.put("/api/v1/me/notifications", headers=handler, json={
            **PREFERENCES, "quiet_from": "21:00", "quiet_until": "07:00"})
        assert saved.status_code == 200, saved.text
        preferences = seen[S.NOTIFICATION_STAFF_SET]["preferences"]
        assert (preferences["quiet_from"], preferences["quiet_until"]) == ("21:00:00", "07:00:00")
        assert saved.json()["preferences"]["quiet_from"] == "21:00:00"

        contact = await client.post("/api/v1/reports/contact", json={
            **CONTACT, "quiet_from": "22:30", "quiet_until": None})
        assert contact.status_code == 200, contact.text
        command = seen[S.NOTIFICATION_CONTACT_SET]
        assert (command["quiet_from"], command["quiet_until"]) == ("22:30:00", None)
        assert command["timezone"] == "Asia/Jakarta"
        assert contact.json()["quiet_from"] == "22:30:00"


async def test_quiet_hours_of_a_party_reach_mediation_as_sent(client: httpx.AsyncClient,
                                                               sign: Sign, nats_url: str) -> None:
    def echo_mediation(command: dict[str, Any]) -> MediationView:
        parties = [PartyView(**p, party_id=uuid4()) for p in command["parties"]]
        return MediationView(mode=command["mode"], parties=parties, mediation_id=uuid4(),
                             case_id=command["case_id"], organisation="tenaganita",
                             created_on=date(2026, 11, 24))

    async with services(nats_url, {S.MEDIATION_CREATE: echo_mediation}) as seen:
        reply = await client.post(f"/api/v1/cases/{CASE}/mediations",
                                  headers=staff(sign, "mediator"), json={"parties": [
                                      {**PARTY, "quiet_hours": {"start": "22:00",
                                                                "end": "06:30"}}]})
        assert reply.status_code == 201, reply.text
        quiet = seen[S.MEDIATION_CREATE]["parties"][0]["quiet_hours"]
        assert quiet == {"start": "22:00:00", "end": "06:30:00"}
        assert reply.json()["parties"][0]["quiet_hours"] == quiet
