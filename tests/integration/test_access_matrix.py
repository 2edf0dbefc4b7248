"""Issue 4, safeguards: access is role + organisation + assignment (DESIGN.md, invariant 5).

The whole matrix, walked over HTTP against the running system: every staff route (read from the
gateway app itself, so a new route cannot slip in unclassified), by every kind of caller (each
role, a caller with no role, a partner system, no token at all), on a case of the caller's own
organisation or of another one that is unassigned, assigned to the caller, or assigned to
someone else. Each cell must answer with the status its policy gives:

- 401 without a token; 403 for a token without one of the route's roles;
- 404 for another organisation's case or referral (its existence does not leak: never 403);
- 403 for a case assigned to another handler;
- otherwise "allowed, then business rules": the request bodies are harmless (they end in a
  422, a 409 or an additive write) so the fixtures stay as they are for the next caller.

On top, content never leaks: a case's answers (its identifying `contact` answer above all)
appear only in responses to the handlers who may read that case, never in list views and never
in another organisation's responses. Administrators and employer liaisons read no case content:
a liaison is refused every case route, and is admitted only to the redacted summaries under
/api/v1/liaison/ of the cases a handler shared with them (scope `liaison`), whose responses are
checked like every other for the cases' answers.

Access bugs found by the matrix are listed in KNOWN_BUGS: those cells are reported as expected
failures (strict: a fixed bug fails the test until its entry is removed).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlmodel import select

from suara_cases.models import ConflictOfInterest
from suara_cases.work import respondent_key
from suara_gateway.app import create_app
from suara_gateway.deps import get_principal
from suara_kit.clock import today
from suara_kit.ids import uuid7
from suara_kit.testing import eventually
from suara_mediation.models import KnownCase

REALM = Path(__file__).resolve().parents[2] / "deploy" / "keycloak" / "realm-suara.json"
PREFIX = "/api/v1/"

# ---------------------------------------------------------------------------------------------
# The policy table: every staff route of the gateway, and what it admits.
# ---------------------------------------------------------------------------------------------
Scope = Literal["none", "case", "case-org", "report", "referral", "referral-receiver",
                "referral-sender", "liaison"]
"""What a route's subject is and how the subject narrows access beyond the role:
- none: no subject (the caller's own organisation, or no organisation at all);
- case: a case of the caller's organisation, unassigned or assigned to the caller;
- case-org: a case of the caller's organisation, whoever it is assigned to;
- report: a report of the caller's organisation (by reference) that the caller filed
  themselves: only who met the worker may hand them a new claim code;
- referral: a referral to or from the caller's organisation; on the sending side the case
  must be unassigned or assigned to the caller;
- referral-receiver / referral-sender: like referral, and only that side may make the move
  (the other side gets a 403 that names who can);
- liaison: a case by the alias of its share with an employer liaison: only the liaison it was
  shared with finds it (anyone else's alias is a 404, like one that never existed)."""

ANY_TOKEN = frozenset({"*"})
ALLOWED = frozenset({200, 201, 202, 204, 409, 422})  # "allowed, then business rules"
HANDLER, PARTNER, COMMITTEE, MEDIATOR = "case-handler", "cso-partner", "worker-committee", "mediator"
LIAISON = "employer-liaison"
NOT_CONTENT_ROLES = frozenset({"admin", LIAISON})
# staff of an organisation get notifications (the committee and admin accounts belong to none:
# notification refuses them with a 403 that names why)
NOTIFIED = f"{HANDLER}|{MEDIATOR}|{PARTNER}"

RESPONDENT = "Matrix Plantation Sdn Bhd"
CONFLICTED = "matrix-conflicted-colleague"  # a handler id with a conflict with RESPONDENT
CODING = {"issues": ["unpaid-wages"], "origin": "MM", "destination": "MY",
          "respondent": RESPONDENT, "respondent_kind": "employer"}
INVALID_REPORT = {"answers": {"categories": ["no-such-category"]}}
LIAISON_SUMMARY = "Matrix: wages unpaid; the workers ask for payment."
OTHER_LIAISON = "matrix-other-liaison"  # an account a case is shared with instead
LIAISON_ID = next((u["id"] for u in json.loads(REALM.read_text(encoding="utf-8"))["users"]
                   if u["username"] == "liaison"), "liaison")  # the `sub` of its tokens
PAST_SESSION = {"starts_at": "2020-01-06T10:00:00+08:00", "ends_at": "2020-01-06T11:00:00+08:00",
                "timezone": "Asia/Kuala_Lumpur"}


@dataclass(frozen=True)
class Policy:
    roles: frozenset[str]  # the roles the route admits; ANY_TOKEN: any valid token
    scope: Scope
    ok: int  # what an admitted caller gets for the harmless request (one of ALLOWED)
    body: dict[str, Any] | None = None  # sent as JSON; None: no body
    content: bool = False  # case content, or a way to it: never admin nor employer liaison


def policy(roles: str, scope: Scope, ok: int, body: dict[str, Any] | None = None,
           content: bool = False) -> Policy:
    admitted = ANY_TOKEN if roles == "*" else frozenset(roles.split("|"))
    return Policy(admitted, scope, ok, body, content)


POLICIES: dict[str, Policy] = {
    # the worker committee shapes the form and the remedy routes (empty bodies: 422)
    "POST /api/v1/forms": policy(COMMITTEE, "none", 422, {}),
    "PUT /api/v1/forms/{version}": policy(COMMITTEE, "none", 422, {}),
    "POST /api/v1/forms/{version}/approve": policy(COMMITTEE, "none", 422, {}),
    "PUT /api/v1/remedies/{route_id}": policy(COMMITTEE, "none", 422, {}),
    "POST /api/v1/remedies/{route_id}/withdraw": policy(COMMITTEE, "none", 422, {}),
    # reports filed for a worker (invalid answers: 422 from intake, after its own checks)
    "POST /api/v1/assisted/reports": policy(HANDLER, "none", 422, INVALID_REPORT, content=True),
    "POST /api/v1/partner/reports": policy(PARTNER, "none", 422, INVALID_REPORT, content=True),
    # a new claim code is the key to the whole report (claim the receipt, then look it up)
    "POST /api/v1/assisted/reports/{reference}/claim-code": policy(
        f"{HANDLER}|{PARTNER}", "report", 200, content=True),
    # case work
    "GET /api/v1/cases": policy(HANDLER, "none", 200, content=True),
    "GET /api/v1/cases/{case_id}": policy(HANDLER, "case", 200, content=True),
    "GET /api/v1/cases/{case_id}/history": policy(HANDLER, "case", 200, content=True),
    "POST /api/v1/cases/{case_id}/acknowledge": policy(  # fixtures are acknowledged: 409
        HANDLER, "case", 409, {"message": "Matrix: we have your report."}, content=True),
    "POST /api/v1/cases/{case_id}/transitions": policy(  # no such status: 422
        HANDLER, "case", 422, {"to": "no-such-status"}, content=True),
    "POST /api/v1/cases/{case_id}/assign": policy(  # to a conflicted colleague: 409
        HANDLER, "case", 409, {"handler": CONFLICTED}, content=True),
    "PUT /api/v1/cases/{case_id}/coding": policy(HANDLER, "case", 200, CODING, content=True),
    "POST /api/v1/cases/{case_id}/messages": policy(
        HANDLER, "case", 201, {"message": "Matrix: an update."}, content=True),
    "POST /api/v1/me/conflicts": policy(
        HANDLER, "none", 201, {"respondent": "Matrix Unrelated Employer"}),
    "GET /api/v1/me/conflicts": policy(HANDLER, "none", 200),
    # one's own notification preferences (a bad time zone: 422 from notification)
    "GET /api/v1/me/notifications": policy(NOTIFIED, "none", 200),
    "PUT /api/v1/me/notifications": policy(NOTIFIED, "none", 422, {"timezone": "Nowhere/Land"}),
    "DELETE /api/v1/me/notifications": policy(NOTIFIED, "none", 200),
    # reporters' ratings: aggregates per organisation and quarter, small groups suppressed
    "GET /api/v1/satisfaction": policy(f"{HANDLER}|{COMMITTEE}", "none", 200),
    # aggregate statistics (k-suppressed): the committee any organisation, a handler their own
    "GET /api/v1/statistics": policy(f"{HANDLER}|{COMMITTEE}", "none", 200),
    # mediation knows a case's organisation, not its handler (a session in the past: 422)
    "POST /api/v1/cases/{case_id}/sessions": policy(
        MEDIATOR, "case-org", 422, PAST_SESSION, content=True),
    # bookable resources are configuration: an organisation's mediators and admins (empty: 422)
    "GET /api/v1/mediation/resources": policy(f"{MEDIATOR}|admin", "none", 200),
    "POST /api/v1/mediation/resources": policy(f"{MEDIATOR}|admin", "none", 422, {}),
    "PUT /api/v1/mediation/resources/{resource_id}": policy(
        f"{MEDIATOR}|admin", "none", 422, {}),
    # mediations, holds and bookings (a party in no time zone: 422 once the case is checked;
    # holds, bookings and changes without an Idempotency-Key: 422; unknown ones: 404)
    "POST /api/v1/cases/{case_id}/mediations": policy(MEDIATOR, "case-org", 422, {
        "parties": [{"role": "worker", "alias": "Matrix worker", "timezone": "Matrix/Nowhere"}]},
        content=True),
    "GET /api/v1/cases/{case_id}/mediations": policy(MEDIATOR, "case-org", 200, content=True),
    # the organisation's mediations (parties by alias) and its sessions in a window (none given:
    # 422)
    "GET /api/v1/mediations": policy(MEDIATOR, "none", 200, content=True),
    "GET /api/v1/bookings": policy(MEDIATOR, "none", 422, content=True),
    "GET /api/v1/mediations/{mediation_id}": policy(MEDIATOR, "none", 404, content=True),
    "POST /api/v1/mediations/{mediation_id}/holds": policy(MEDIATOR, "none", 422, {},
                                                           content=True),
    "POST /api/v1/mediations/{mediation_id}/bookings": policy(MEDIATOR, "none", 422, {},
                                                              content=True),
    "GET /api/v1/bookings/{booking_id}": policy(MEDIATOR, "none", 404, content=True),
    "POST /api/v1/bookings/{booking_id}/confirm": policy(MEDIATOR, "none", 422, content=True),
    "POST /api/v1/bookings/{booking_id}/reschedule": policy(MEDIATOR, "none", 422, {},
                                                            content=True),
    "POST /api/v1/bookings/{booking_id}/cancel": policy(
        MEDIATOR, "none", 404, {"reason": "other"}, content=True),
    "POST /api/v1/bookings/{booking_id}/responses": policy(MEDIATOR, "none", 404, {
        "party_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f7", "response": "accepted"},
        content=True),
    "POST /api/v1/bookings/{booking_id}/no-shows": policy(MEDIATOR, "none", 404, {
        "party_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f7"}, content=True),
    "GET /api/v1/bookings/{booking_id}/invites/{party_id}": policy(MEDIATOR, "none", 404,
                                                                   content=True),
    "GET /api/v1/bookings/{booking_id}/invite": policy(MEDIATOR, "none", 404, content=True),
    "POST /api/v1/mediations/{mediation_id}/proposals": policy(MEDIATOR, "none", 404, {},
                                                               content=True),
    # mediated agreements (a language without the outside-options text: 422 once the case is
    # checked; unknown agreements: 404)
    "POST /api/v1/cases/{case_id}/agreements": policy(MEDIATOR, "case-org", 422, {
        "obligations": [{"kind": "apology", "description": "Matrix apology",
                         "due_on": "2030-01-01"}], "worker_language": "xx"}, content=True),
    "GET /api/v1/cases/{case_id}/agreements": policy(MEDIATOR, "case-org", 200, content=True),
    "GET /api/v1/agreements/{agreement_id}": policy(MEDIATOR, "none", 404, content=True),
    "POST /api/v1/agreements/{agreement_id}/outside-options": policy(MEDIATOR, "none", 404, {
        "language": "id", "text_version": "2026-11-v1"}, content=True),
    "POST /api/v1/agreements/{agreement_id}/sign": policy(MEDIATOR, "none", 404, content=True),
    "POST /api/v1/agreements/{agreement_id}/obligations/{obligation_id}/compliance": policy(
        MEDIATOR, "none", 404, {"met": True}, content=True),
    # session notes and the parties' vote (unknown mediations and ballots: 404)
    "POST /api/v1/mediations/{mediation_id}/notes": policy(MEDIATOR, "none", 404, {
        "visibility": "joint", "text": "Matrix note"}, content=True),
    "GET /api/v1/mediations/{mediation_id}/notes": policy(MEDIATOR, "none", 404, content=True),
    "POST /api/v1/mediations/{mediation_id}/ballots": policy(MEDIATOR, "none", 404, {
        "candidates": [{"starts_at": "2030-01-07T10:00:00+08:00",
                        "ends_at": "2030-01-07T11:00:00+08:00",
                        "resource_ids": ["0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f4"]}]},
        content=True),
    "POST /api/v1/ballots/{ballot_id}/votes": policy(MEDIATOR, "none", 404, {
        "party_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f7", "accepts": [0]}, content=True),
    "GET /api/v1/ballots/{ballot_id}": policy(MEDIATOR, "none", 404, content=True),
    "POST /api/v1/ballots/{ballot_id}/close": policy(MEDIATOR, "none", 404, content=True),
    # referrals
    "GET /api/v1/organisations": policy("*", "none", 200),
    "POST /api/v1/cases/{case_id}/consents": policy(HANDLER, "case", 201, {
        "to_organisation": "any", "share_profile": "minimal",
        "obtained": "Matrix: the worker said yes in person."}, content=True),
    "POST /api/v1/cases/{case_id}/consents/{consent_id}/withdraw": policy(  # no such consent
        HANDLER, "case", 404, {"reason": "Matrix: the worker withdrew."}, content=True),
    "GET /api/v1/cases/{case_id}/referrals": policy(HANDLER, "case", 200, content=True),
    "POST /api/v1/cases/{case_id}/referrals": policy(  # to a member reached by email: 409
        HANDLER, "case", 409, {"to_organisation": "example-ph-migrant-centre",
                               "share_profile": "minimal"}, content=True),
    "GET /api/v1/referrals": policy(HANDLER, "none", 200, content=True),
    "GET /api/v1/referrals/{referral_id}": policy(HANDLER, "referral", 200, content=True),
    # the matrix's referrals are revoked already: any allowed move is a 409
    "POST /api/v1/referrals/{referral_id}/accept": policy(
        HANDLER, "referral-receiver", 409, content=True),
    "POST /api/v1/referrals/{referral_id}/reject": policy(
        HANDLER, "referral-receiver", 409, content=True),
    "POST /api/v1/referrals/{referral_id}/complete": policy(
        HANDLER, "referral-receiver", 409, {"outcome": "Matrix outcome."}, content=True),
    "POST /api/v1/referrals/{referral_id}/revoke": policy(
        HANDLER, "referral-sender", 409, content=True),
    # the employer liaison's redacted summaries: a handler shares a case (each matrix case is
    # shared with the liaison already: a second share is a 409), the liaison reads it
    "POST /api/v1/cases/{case_id}/liaison-shares": policy(HANDLER, "case", 409, {
        "liaison": LIAISON_ID, "summary": LIAISON_SUMMARY}, content=True),
    "GET /api/v1/cases/{case_id}/liaison-shares": policy(HANDLER, "case", 200, content=True),
    "POST /api/v1/cases/{case_id}/liaison-shares/{share_id}/revoke": policy(  # no such share
        HANDLER, "case", 404, content=True),
    # a sealed identity: asking opens nothing (201, pending), reading one needs an approved
    # request (409 without); deciding an unknown one: 404
    "POST /api/v1/cases/{case_id}/identity-requests": policy(HANDLER, "case", 201, {
        "reason": "Matrix: the labour office needs the name.",
        "consent": {"obtained": "Matrix: the worker said yes in person."}}, content=True),
    "GET /api/v1/cases/{case_id}/identity-requests": policy(HANDLER, "case", 200, content=True),
    "GET /api/v1/cases/{case_id}/identity": policy(HANDLER, "case", 409, content=True),
    "GET /api/v1/identity-requests": policy(HANDLER, "none", 200, content=True),
    "POST /api/v1/identity-requests/{request_id}/decision": policy(
        HANDLER, "none", 404, {"approve": False}, content=True),
    "GET /api/v1/liaison/cases": policy(LIAISON, "none", 200),
    # the team's alerts (ids, dates and coding, no content) are the caller's organisation's;
    # taking on one that does not exist: 404
    "GET /api/v1/alerts": policy(HANDLER, "none", 200),
    "POST /api/v1/alerts/{alert_id}/acknowledge": policy(HANDLER, "none", 404),
    "GET /api/v1/liaison/cases/{alias}": policy(LIAISON, "liaison", 200),
    # partner webhooks: an organisation's own configuration (ids and statuses, no content),
    # managed by its partner system or an administrator *of that organisation*. The realm's
    # admin belongs to none, so notification refuses it (a 403 naming the roles): among the
    # matrix's actors only the partner is admitted. The bodies pass the gateway's schema, so
    # that refusal is reached: a private URL is then a 422, an unknown webhook a 404.
    "GET /api/v1/webhook-event-types": policy(f"{PARTNER}|admin", "none", 200),
    "POST /api/v1/webhooks": policy(PARTNER, "none", 422, {
        "url": "https://localhost/matrix", "event_types": ["case.opened"]}),
    "GET /api/v1/webhooks": policy(PARTNER, "none", 200),
    "GET /api/v1/webhooks/{webhook_id}": policy(PARTNER, "none", 404),
    "PATCH /api/v1/webhooks/{webhook_id}": policy(PARTNER, "none", 404,
                                                  {"description": "Matrix"}),
    "DELETE /api/v1/webhooks/{webhook_id}": policy(PARTNER, "none", 404),
    "POST /api/v1/webhooks/{webhook_id}/secret": policy(PARTNER, "none", 404),
    "GET /api/v1/webhooks/{webhook_id}/deliveries": policy(PARTNER, "none", 404),
    "POST /api/v1/webhooks/{webhook_id}/replay": policy(PARTNER, "none", 404, {
        "since": "2026-01-01T00:00:00Z"}),
}

# /api/v1 routes that need no token (an optional one at most): each was chosen to be public.
PUBLIC = {
    "GET /api/v1/form", "GET /api/v1/forms", "GET /api/v1/forms/{version}",
    "GET /api/v1/remedies", "GET /api/v1/remedies/{route_id}",
    "POST /api/v1/uploads", "POST /api/v1/reports", "POST /api/v1/reports/claim",
    "POST /api/v1/reports/lookup", "POST /api/v1/reports/follow-up",
    "POST /api/v1/reports/survey", "GET /api/v1/public/statistics",
    # a reporter's nudge contact, proven by reference and receipt like a lookup
    "POST /api/v1/reports/contact", "POST /api/v1/reports/contact/lookup",
    "POST /api/v1/reports/contact/remove",
}

SUBJECT_PARAM = {"case": "case_id", "case-org": "case_id", "report": "reference",
                 "referral": "referral_id", "referral-receiver": "referral_id",
                 "referral-sender": "referral_id", "liaison": "alias"}
FIXED_PARAMS = {"version": "1", "route_id": "matrix-route",  # for routes without a subject,
                "consent_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",  # and sub-resources
                "share_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f1",
                "request_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f2",
                "resource_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f4",
                "mediation_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f5",
                "booking_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f6",
                "alert_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f3",
                "agreement_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f8",
                "obligation_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f9",
                "party_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1fa",
                "ballot_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1fb",
                "webhook_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1fc"}
# that must not exist: the harmless request on them is a 404 once access is granted

# ---------------------------------------------------------------------------------------------
# Cells the matrix found wrong: (route, actor, subject) -> (what they answer today, why it is
# wrong). Strict: a cell that answers as its policy says, or in a third way, fails the test.
# ---------------------------------------------------------------------------------------------
KNOWN_BUGS: dict[tuple[str, str, str], tuple[int, str]] = {}


# ---------------------------------------------------------------------------------------------
# The routes, from the app.
# ---------------------------------------------------------------------------------------------
def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def api_routes(app: FastAPI) -> dict[str, Dependant]:
    """Every API route of the app (included routers too), as 'METHOD path', with its
    dependency tree."""
    contexts = (routing.iter_route_contexts(app.routes)
                if hasattr(routing, "iter_route_contexts") else app.routes)
    found: dict[str, Dependant] = {}
    for route in contexts:
        if isinstance(getattr(route, "original_route", route), APIRoute):
            for method in sorted(route.methods or ()):
                found[f"{method} {route.path}"] = route.dependant
    return found


def needs_token(dependant: Dependant) -> bool:
    return get_principal in set(_calls(dependant))


def classify(app: FastAPI) -> tuple[set[str], set[str]]:
    """The /api/v1 routes: (staff: a token is required, public: none, or an optional one)."""
    staff, public = set(), set()
    for key, dependant in api_routes(app).items():
        if key.split(" ", 1)[1].startswith(PREFIX):
            (staff if needs_token(dependant) else public).add(key)
    return staff, public


# ---------------------------------------------------------------------------------------------
# Actors (roles and organisations from the realm file) and subjects.
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Actor:
    name: str
    login: str | None  # realm username, partner client id, or None: no token at all
    client_secret: str | None = None
    roles: frozenset[str] = frozenset()
    org: str | None = None


def _realm_users() -> dict[str, tuple[frozenset[str], str | None]]:
    realm = json.loads(REALM.read_text(encoding="utf-8"))
    users: dict[str, tuple[frozenset[str], str | None]] = {}
    for user in realm["users"]:
        orgs = [g.removeprefix("/organisations/") for g in user.get("groups", [])
                if g.startswith("/organisations/")]
        users[user["username"]] = (frozenset(user.get("realmRoles", [])), orgs[0] if orgs else None)
    return users


def _actors() -> tuple[Actor, ...]:
    users = _realm_users()
    wanted = [Actor("handler.tenaganita", "handler.tenaganita"),
              Actor("supervisor.tenaganita", "supervisor.tenaganita"),
              Actor("handler.map", "handler.map"),
              Actor("mediator.tenaganita", "mediator.tenaganita"),
              Actor("committee", "committee"),
              Actor("liaison", "liaison"),
              Actor("admin", "admin"),
              Actor("norole.tenaganita", "norole.tenaganita"),
              Actor("partner.tenaganita", "partner-tenaganita", "dev-secret-partner-tenaganita"),
              Actor("anonymous", None)]
    actors = []
    for actor in wanted:
        if actor.login is None:
            actors.append(actor)
            continue
        user = f"service-account-{actor.login}" if actor.client_secret else actor.login
        if user not in users:  # e.g. a realm without the supervisor: not part of the matrix
            continue
        roles, org = users[user]
        actors.append(Actor(actor.name, actor.login, actor.client_secret, roles, org))
    return tuple(actors)


ACTORS = _actors()


@dataclass
class Subject:
    name: str
    org: str
    receiver: str  # where the subject's (revoked) matrix referral went
    assignee: str | None  # the actor the case is assigned to
    filer: str  # who files the report: assisted (handler) or partner channel
    contact: str  # the identifying answer
    story: str  # a non-identifying answer, still case content
    liaison_sees: bool = True  # shared with the liaison; else with another account only
    reference: str = ""
    case_id: str = ""
    referral_id: str = ""
    alias: str = ""  # of the share the liaison route is asked about

    def value(self, param: str) -> str:
        return {"case_id": self.case_id, "referral_id": self.referral_id,
                "reference": self.reference, "alias": self.alias}[param]


def _subjects() -> list[Subject]:
    def make(name: str, org: str, receiver: str, assignee: str | None, filer: str,
             n: int) -> Subject:
        return Subject(name, org, receiver, assignee, filer,
                       contact=f"WhatsApp +60 12 777 {n:04d} matrix",
                       story=f"Matrix story {n}: no wages since August at the estate.",
                       liaison_sees=n % 2 == 0)

    return [make("tenaganita/unassigned", "tenaganita", "map-foundation", None,
                 "handler.tenaganita", 1),
            make("tenaganita/assigned", "tenaganita", "map-foundation", "handler.tenaganita",
                 "handler.tenaganita", 2),
            make("map-foundation/unassigned", "map-foundation", "serve-the-people", None,
                 "partner-map-foundation", 3),
            make("map-foundation/assigned", "map-foundation", "serve-the-people", "handler.map",
                 "partner-map-foundation", 4)]


# ---------------------------------------------------------------------------------------------
# What each cell must answer.
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Expect:
    status: int
    why: str
    says: str = ""  # a phrase the problem's detail contains (tells one 403 from another)


def expect(rule: Policy, actor: Actor, subject: Subject | None) -> Expect:
    if actor.login is None:
        return Expect(401, "no token")
    if rule.roles != ANY_TOKEN and not rule.roles & actor.roles:
        return Expect(403, "no role for this route", "role")
    allowed = Expect(rule.ok, "allowed, then business rules")
    if subject is None or rule.scope == "none":
        return allowed
    own = actor.org == subject.org
    someone_elses = subject.assignee not in (None, actor.name)
    assigned_away = Expect(403, "case assigned to another handler", "assigned to another")
    if rule.scope == "report":
        if not own:
            return Expect(404, "another organisation's")
        return allowed if actor.login == subject.filer else Expect(
            403, "only who filed the report", "filed this report")
    if rule.scope == "case":
        if not own:
            return Expect(404, "another organisation's")
        return assigned_away if someone_elses else allowed
    if rule.scope == "case-org":
        return allowed if own else Expect(404, "another organisation's")
    if rule.scope == "liaison":
        return allowed if subject.liaison_sees else Expect(404, "shared with someone else")
    side = "sender" if own else "receiver" if actor.org == subject.receiver else None
    if side is None:
        return Expect(404, "a referral between other organisations")
    if side == "sender" and someone_elses:  # the case's assignment comes first
        return assigned_away
    if (rule.scope, side) in (("referral-receiver", "sender"), ("referral-sender", "receiver")):
        return Expect(403, f"only the other side of the referral moves it (caller: {side})",
                      "Only ")
    return allowed


def may_read(actor: Actor, subject: Subject) -> bool:
    """Whether the caller may see the subject's content at all."""
    return (HANDLER in actor.roles and actor.org == subject.org
            and subject.assignee in (None, actor.name))


@dataclass
class Cell:
    route: str
    actor: Actor
    subject: Subject | None
    expected: Expect
    status: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.route, self.actor.name, self.subject.name if self.subject else "-"

    def describe(self) -> str:
        where = f" × {self.subject.name}" if self.subject else ""
        return (f"{self.route} × {self.actor.name}{where}: expected {self.expected.status} "
                f"({self.expected.why}), got {self.status}: " + "; ".join(self.problems))


# ---------------------------------------------------------------------------------------------
# Static checks: the table covers the app exactly and keeps content from admin and liaison.
# ---------------------------------------------------------------------------------------------
def test_every_api_route_is_classified() -> None:
    app = create_app()
    staff, public = classify(app)
    elsewhere = sorted(k for k, d in api_routes(app).items()
                       if not k.split(" ", 1)[1].startswith(PREFIX) and needs_token(d))
    assert not elsewhere, f"staff routes outside {PREFIX}, where the matrix cannot see them: " \
        f"{elsewhere}"
    assert staff, "found no staff routes: has the way routes are enumerated changed?"
    unclassified, gone = sorted(staff - set(POLICIES)), sorted(set(POLICIES) - staff)
    assert not unclassified, (
        f"staff routes missing from the access matrix (add each to POLICIES with its roles, "
        f"scope and a harmless request): {unclassified}")
    assert not gone, f"POLICIES lists routes that no longer need a token or exist: {gone}"
    assert public == PUBLIC, (
        f"public /api/v1 routes changed: new without a token {sorted(public - PUBLIC)}; "
        f"no longer public {sorted(PUBLIC - public)}. A new route that reads or writes case "
        "data must require a token (get_principal); a deliberately public one goes in PUBLIC.")
    for key in staff:
        params = set(re.findall(r"\{(\w+)\}", key))
        rule = POLICIES[key]
        if rule.scope == "none":
            assert params <= set(FIXED_PARAMS), f"{key}: path parameters {params} need a scope"
        else:
            assert SUBJECT_PARAM[rule.scope] in params, f"{key}: scope {rule.scope} has no subject"
        missing_part = bool(params & (set(FIXED_PARAMS) - {"version", "route_id"}))
        assert rule.ok in ALLOWED or (missing_part and rule.ok == 404), (
            f"{key}: an allowed caller must get 2xx, 409 or 422 (404 only for a sub-resource "
            "that does not exist)")


def test_administrators_and_liaisons_get_no_case_content() -> None:
    for key, rule in POLICIES.items():
        if rule.content:
            assert not rule.roles & NOT_CONTENT_ROLES, key
            assert rule.roles != ANY_TOKEN, key
    # the liaison is admitted only to the redacted summaries of the cases shared with them
    liaison_routes = {k for k, r in POLICIES.items() if LIAISON in r.roles}
    assert liaison_routes == {"GET /api/v1/liaison/cases", "GET /api/v1/liaison/cases/{alias}"}
    assert all(POLICIES[k].roles == {LIAISON} for k in liaison_routes)


def test_the_realm_has_the_matrix_actors() -> None:
    by_name = {a.name: a for a in ACTORS}
    assert {"handler.tenaganita", "handler.map", "mediator.tenaganita", "committee", "liaison",
            "admin", "norole.tenaganita", "partner.tenaganita", "anonymous"} <= set(by_name)
    assert (by_name["handler.tenaganita"].org, by_name["handler.map"].org) == (
        "tenaganita", "map-foundation")
    assert not by_name["norole.tenaganita"].roles
    assert by_name["admin"].roles == {"admin"}
    assert by_name["liaison"].roles == {"employer-liaison"}


# ---------------------------------------------------------------------------------------------
# The matrix over HTTP.
# ---------------------------------------------------------------------------------------------
async def _headers(system: Any, actor: Actor) -> dict[str, str] | None:
    if actor.login is None:
        return None
    if actor.client_secret is None:
        return dict(await system.auth(actor.login))
    reply = await system.issuer.post(
        "/realms/suara/protocol/openid-connect/token", data={"grant_type": "client_credentials"},
        auth=(actor.login, actor.client_secret))
    assert reply.status_code == 200, reply.text
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


async def _partner_map(system: Any) -> dict[str, str]:
    headers = await _headers(system, Actor("partner.map", "partner-map-foundation",
                                           "dev-secret-partner-map-foundation"))
    assert headers is not None
    return headers


def _ok(reply: Any, status: int, what: str) -> Any:
    assert reply.status_code == status, f"setup: {what}: {reply.status_code} {reply.text}"
    return reply.json()


async def build_subjects(system: Any, auth: dict[str, dict[str, str] | None]) -> list[Subject]:
    """Four cases (tenaganita and map-foundation, unassigned and assigned), each coded,
    acknowledged, with the reporter's consent and a revoked referral."""
    http, subjects = system.http, _subjects()
    filers = {"handler.tenaganita": (auth["handler.tenaganita"], "/api/v1/assisted/reports"),
              "partner-map-foundation": (await _partner_map(system), "/api/v1/partner/reports")}
    handler_of = {"tenaganita": auth["handler.tenaganita"], "map-foundation": auth["handler.map"]}
    for s in subjects:
        headers, path = filers[s.filer]
        answers = {"categories": ["unpaid-wages"], "country": "MY" if s.org == "tenaganita"
                   else "TH", "origin": "MM", "what_happened": s.story, "contact": s.contact}
        s.reference = _ok(await http.post(path, headers=headers, json={"answers": answers}),
                          201, f"file {s.name}")["reference"]

    async def opened() -> bool:
        for org, headers in handler_of.items():
            items = _ok(await http.get("/api/v1/cases", headers=headers), 200, "list")["items"]
            by_reference = {c["reference"]: c["case_id"] for c in items}
            for s in subjects:
                if s.org == org and s.reference in by_reference:
                    s.case_id = by_reference[s.reference]
        return all(s.case_id for s in subjects)

    await eventually(opened)

    mediation = system.services["mediation-scheduling"]

    async def mediation_knows() -> bool:
        async with mediation.transaction() as session:
            known = {str(k.case_id) for k in await session.exec(select(KnownCase))}
        return all(s.case_id in known for s in subjects)

    await eventually(mediation_knows)

    async with system.services["case-management"].transaction() as session:
        for org in handler_of:  # a colleague who may not be given these cases
            session.add(ConflictOfInterest(id=uuid7(), handler=CONFLICTED, organisation=org,
                                           respondent=RESPONDENT,
                                           respondent_key=respondent_key(RESPONDENT),
                                           declared_on=today()))

    for s in subjects:
        headers, base = handler_of[s.org], f"/api/v1/cases/{s.case_id}"
        _ok(await http.put(f"{base}/coding", headers=headers, json=CODING), 200, "code")
        _ok(await http.post(f"{base}/acknowledge", headers=headers,
                            json={"message": "We have your report."}), 200, "acknowledge")
        _ok(await http.post(f"{base}/consents", headers=headers, json={
            "to_organisation": "any", "share_profile": "standard",
            "obtained": "worker said yes in person"}), 201, "consent")
        referral = _ok(await http.post(f"{base}/referrals", headers=headers, json={
            "to_organisation": s.receiver, "share_profile": "standard"}), 201, "refer")
        s.referral_id = referral["referral_id"]
        _ok(await http.post(f"/api/v1/referrals/{s.referral_id}/revoke", headers=headers),
            200, "revoke")
        # each case is shared with the liaison (a second share is then a 409); half of them
        # are asked about by the alias of a share with another account (a 404 for the liaison)
        for account in (LIAISON_ID,) if s.liaison_sees else (LIAISON_ID, OTHER_LIAISON):
            s.alias = _ok(await http.post(f"{base}/liaison-shares", headers=headers, json={
                "liaison": account, "summary": LIAISON_SUMMARY}), 201, "share")["alias"]
        if s.assignee:
            taken = _ok(await http.post(f"{base}/assign", headers=auth[s.assignee], json={}),
                        200, "assign")
            assert taken["assigned_to"], taken
    return subjects


def _url(route: str, subject: Subject | None) -> tuple[str, str]:
    method, path = route.split(" ", 1)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in FIXED_PARAMS:
            return FIXED_PARAMS[name]
        assert subject is not None, f"{route}: no subject for {{{name}}}"
        return subject.value(name)

    return method, re.sub(r"\{(\w+)\}", fill, path)


def _check(cell: Cell, reply: Any, subjects: list[Subject]) -> None:
    cell.status = reply.status_code
    if reply.status_code != cell.expected.status:
        cell.problems.append(f"status {reply.status_code}")
    elif cell.expected.says:
        detail = str(reply.json().get("detail", ""))
        if cell.expected.says not in detail:
            cell.problems.append(f"detail {detail!r} lacks {cell.expected.says!r}")
    text = reply.text
    for s in subjects:
        if s is cell.subject and may_read(cell.actor, s):
            continue
        for label, marker in (("identifying answer", s.contact), ("answer", s.story)):
            if marker in text:
                cell.problems.append(f"leaks {s.name}'s {label}")


async def walk(system: Any, routes: list[str], auth: dict[str, dict[str, str] | None],
               subjects: list[Subject]) -> list[Cell]:
    cells: list[Cell] = []
    for route in routes:
        rule = POLICIES[route]
        for subject in ([None] if rule.scope == "none" else subjects):
            for actor in ACTORS:
                cell = Cell(route, actor, subject, expect(rule, actor, subject))
                method, url = _url(route, subject)
                reply = await system.http.request(method, url, headers=auth[actor.name],
                                                  json=rule.body)
                _check(cell, reply, subjects)
                cells.append(cell)
    return cells


async def check_content_stays_put(system: Any, auth: dict[str, dict[str, str] | None],
                                  subjects: list[Subject]) -> list[str]:
    """Identifying answers: sealed apart on the case (its handler sees that there is one, not
    what it says), never in a list, never elsewhere."""
    http, problems = system.http, []
    first = subjects[0]
    mine = await http.get(f"/api/v1/cases/{first.case_id}", headers=auth["handler.tenaganita"])
    detail = mine.json()
    if "contact" in detail.get("answers", {}) or first.contact in mine.text:
        problems.append("the handler reads the sealed contact answer without an approval")
    if detail.get("sealed_identity") != ["contact"]:
        problems.append(f"premise: the case does not show a sealed contact: {mine.text}")
    if "contact" not in detail.get("identifying", []):
        problems.append("premise: the default form does not mark `contact` identifying")
    for name in ("handler.tenaganita", "supervisor.tenaganita", "handler.map"):
        if name not in auth:
            continue
        for path in ("/api/v1/cases", "/api/v1/referrals"):
            listed = await http.get(path, headers=auth[name])
            for item in listed.json()["items"]:
                if {"answers", "identifying", "shared"} & {k for k, v in item.items() if v}:
                    problems.append(f"{path} for {name} carries content: {sorted(item)}")
            for s in subjects:
                if s.contact in listed.text or s.story in listed.text:
                    problems.append(f"{path} for {name} shows {s.name}'s answers")
    # a live referral: the receiving organisation gets the shared answers, never `contact`
    pending = await http.post(f"/api/v1/cases/{first.case_id}/referrals",
                              headers=auth["handler.tenaganita"],
                              json={"to_organisation": "map-foundation",
                                    "share_profile": "standard"})
    if pending.status_code != 201:
        return [*problems, f"setup: pending referral {pending.status_code} {pending.text}"]
    seen = await http.get(f"/api/v1/referrals/{pending.json()['referral_id']}",
                          headers=auth["handler.map"])
    shared = (seen.json().get("shared") or {})
    if shared.get("answers", {}).get("what_happened") != first.story:
        problems.append(f"premise: the receiver does not see the shared story: {seen.text}")
    if "contact" in shared.get("answers", {}) or first.contact in seen.text:
        problems.append("the receiving organisation sees the identifying contact answer")
    theirs = await http.get("/api/v1/cases", headers=auth["handler.map"])
    if any(s.reference in theirs.text for s in subjects if s.org == "tenaganita"):
        problems.append("map-foundation's case list shows tenaganita's cases")
    return problems


async def test_access_matrix(system: Any, subtests: pytest.Subtests) -> None:
    staff, _ = classify(create_app())
    routes = sorted(staff & set(POLICIES))
    auth = {actor.name: await _headers(system, actor) for actor in ACTORS}
    subjects = await build_subjects(system, auth)
    cells = await walk(system, routes, auth, subjects)

    with subtests.test(msg="every staff route is in the matrix"):
        assert staff <= set(POLICIES), sorted(staff - set(POLICIES))
    by_route: dict[str, list[Cell]] = defaultdict(list)
    for cell in cells:
        by_route[cell.route].append(cell)
    for route in routes:
        wrong = [c.describe() for c in by_route[route]
                 if c.problems and c.key not in KNOWN_BUGS]
        assert by_route[route], route
        with subtests.test(msg=route):
            assert not wrong, f"{len(wrong)} cells wrong:\n" + "\n".join(wrong)
    with subtests.test(msg="admin and employer liaison are refused every case route"):
        let_in = [c.describe() for c in cells
                  if c.actor.name in ("admin", "liaison") and POLICIES[c.route].content
                  and c.status != 403]
        assert not let_in, "\n".join(let_in)
    seen = {c.key: c for c in cells}
    for key, (today_status, reason) in KNOWN_BUGS.items():
        with subtests.test(msg=" × ".join(key)):
            cell = seen.get(key)
            assert cell is not None, f"KNOWN_BUGS names a cell the matrix no longer has: {key}"
            if not cell.problems:
                pytest.fail(f"fixed? {key} now answers {cell.status} as its policy says: "
                            "remove it from KNOWN_BUGS")
            assert cell.status == today_status, f"changed, but not fixed: {cell.describe()}"
            pytest.xfail(f"{reason} [observed: {cell.describe()}]")
    with subtests.test(msg="identifying answers stay on the case"):
        problems = await check_content_stays_put(system, auth, subjects)
        assert not problems, "\n".join(problems)
