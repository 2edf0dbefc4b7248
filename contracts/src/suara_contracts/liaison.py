"""Request and reply bodies of the employer liaison's redacted case summaries (the
`suara.rpc.cases.v1.liaison-*` subjects).

There is no model of mediation parties yet, so an employer liaison sees a case only when a case
handler of the case's organisation shares it with them by name, with a summary the handler
writes for the employer side. What the liaison sees is the handler's summary and the case's
coding under a random alias: never the reporter's answers, messages, reference, the case id,
the assigned handler or the risk reasons."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import Field, field_validator

from suara_contracts.rpc import Actor, _Msg

LIAISON_ROLE = "employer-liaison"
ALIAS = r"^LS-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$"
ACCOUNT = r"^[A-Za-z0-9][A-Za-z0-9._@:-]{0,199}$"
MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


# the handler's side
class LiaisonShareRequest(_Msg):
    """Share a case with an employer liaison: who, and the summary they may read."""

    liaison: str = Field(pattern=ACCOUNT, description=(
        "the employer liaison's account: the `sub` of their access token (their Keycloak "
        "user id)"), examples=["98d4380d-dace-5aa9-956d-d8bf05ad411c"])
    summary: str = Field(min_length=1, max_length=2000, description=(
        "what the employer side may read, written by the handler: nothing the reporter said "
        "reaches the employer unless you put it here, so leave out names, contact details, "
        "dates and places that could point to the worker"),
        examples=["Three months of wages unpaid at the packing line; the worker asks for "
                  "payment in full and a written payslip from now on."])

    @field_validator("summary")
    @classmethod
    def _written(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("write the summary the employer side may read")
        return value


class ShareWithLiaison(LiaisonShareRequest):
    """A case handler shares a case with an employer liaison."""

    actor: Actor
    case_id: UUID


class LiaisonSharesQuery(_Msg):
    actor: Actor
    case_id: UUID


class RevokeLiaisonShare(_Msg):
    """A case handler takes a share back: the liaison no longer finds the case."""

    actor: Actor
    case_id: UUID
    share_id: UUID


class LiaisonShareView(_Msg):
    """A share of a case with an employer liaison, as the case's handlers see it."""

    share_id: UUID
    case_id: UUID
    liaison: str
    alias: str = Field(description="what the liaison knows the case by")
    summary: str | None = Field(description=(
        "null once the case's content was deleted at the end of retention"))
    shared_by: str
    shared_on: date
    revoked_by: str | None = None
    revoked_on: date | None = None


class LiaisonShareList(_Msg):
    items: list[LiaisonShareView]


# the liaison's side
class LiaisonCasesQuery(_Msg):
    """The cases shared with the calling employer liaison."""

    actor: Actor


class LiaisonCaseQuery(_Msg):
    """One case shared with the calling employer liaison, by its alias."""

    actor: Actor
    alias: str = Field(min_length=1, max_length=32)


class LiaisonSession(_Msg):
    """A mediation session on the case."""

    starts_at: datetime
    ends_at: datetime
    timezone: str
    mode: str


class LiaisonCase(_Msg):
    """A case as an employer liaison sees it: redacted. No answers, messages, reference, case
    id, handler or risk reasons; only the coding, the handler's summary and the sessions."""

    alias: str = Field(description="random, per share: unrelated to the case or its reference")
    organisation: str = Field(description="the organisation handling the case")
    status: str
    received_month: str = Field(pattern=MONTH, description="the month the report arrived")
    coded_issues: list[str] = Field(description="empty until a handler codes the case")
    corridor_origin: str | None = None
    corridor_destination: str | None = None
    respondent: str | None = Field(default=None, description="as the handler coded it")
    respondent_kind: str | None = None
    summary: str | None = Field(description=(
        "the handler's summary for the employer side; null once the case's content was "
        "deleted at the end of retention"))
    content_deleted_on: date | None = Field(default=None, description=(
        "when retention deleted the case's content (and with it the summary)"))
    sessions: list[LiaisonSession] = []


class LiaisonCaseList(_Msg):
    items: list[LiaisonCase]
