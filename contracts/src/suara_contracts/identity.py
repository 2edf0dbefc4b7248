"""Request and reply bodies for opening a case's sealed identity (the
`suara.rpc.cases.v1.identity-*` subjects): the answers the form marks identifying are sealed
apart from the case; opening them needs the reporter's recorded consent and a second person's
approval, and every step is audited."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import Field, model_validator

from suara_contracts.rpc import Actor, Answer, _Msg

IdentityRequestStatus = Literal["pending", "approved", "refused"]
ConsentSource = Literal["reporter", "staff-recorded"]


class IdentityConsent(_Msg):
    """How the reporter agreed that the organisation may see who they are: best, their own
    message on the case (`message_id`); otherwise how and when staff heard it."""

    message_id: UUID | None = Field(default=None, description=(
        "the reporter's own message on this case (a reply or added information) that says so"))
    obtained: str = Field(default="", max_length=2000, examples=[
        "She asked us in her reply of 2026-11-20 to call her on the number she gave"])

    @model_validator(mode="after")
    def _some_record(self) -> IdentityConsent:
        if self.message_id is None and len(self.obtained.strip()) < 10:
            raise ValueError("consent: give the reporter's message_id, or say in `obtained` "
                             "(10 characters or more) how and when the reporter agreed")
        return self


class IdentityRequestBody(_Msg):
    reason: str = Field(min_length=10, max_length=2000, description=(
        "why the case needs the reporter's identity; shown to the approver"), examples=[
        "The labour office needs the worker's name to file the wage claim she asked for"])
    consent: IdentityConsent


class RequestIdentity(IdentityRequestBody):
    actor: Actor
    case_id: UUID


class IdentityDecisionBody(_Msg):
    approve: bool
    note: str = Field(default="", max_length=2000)


class DecideIdentity(IdentityDecisionBody):
    actor: Actor
    request_id: UUID


class IdentityRequestView(_Msg):
    request_id: UUID
    case_id: UUID
    requested_by: str
    requested_on: date
    reason: str
    consent_source: ConsentSource
    consent_message_id: UUID | None = None
    consent_obtained: str
    status: IdentityRequestStatus
    decided_by: str | None = None
    decided_on: date | None = None
    decision_note: str | None = None
    open_until: date | None = Field(default=None, description=(
        "the requester may read the identity until this day (inclusive)"))


class IdentityRequestList(_Msg):
    items: list[IdentityRequestView]


class CaseIdentityQuery(_Msg):
    actor: Actor
    case_id: UUID


class PendingIdentityQuery(_Msg):
    actor: Actor


class IdentityView(_Msg):
    """The identifying answers of one case, read under an approved request."""

    case_id: UUID
    request_id: UUID
    answers: dict[str, Answer]
    open_until: date
