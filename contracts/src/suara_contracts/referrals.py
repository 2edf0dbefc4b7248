"""Request and reply bodies of referrals and transfers between organisations (the
`suara.rpc.cases.v1.referral-*` subjects): the directory, the reporter's consent, and one
transition record per referral or transfer."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import Field, field_validator, model_validator

from suara_contracts.events import RiskLevel
from suara_contracts.rpc import Actor, Answer, _Msg

SLUG = r"^[a-z0-9][a-z0-9-]{0,63}$"
ANY = "any"
ShareProfile = Literal["minimal", "standard", "full"]
ReferralType = Literal["referral", "transfer"]
ReferralStatus = Literal["pending", "accepted", "rejected", "done", "revoked"]
Move = Literal["accepted", "rejected", "done", "revoked"]
Capacity = Literal["open", "limited", "full"]
ConsentSource = Literal["staff-recorded", "reporter"]
Direction = Literal["incoming", "outgoing"]


# the directory
class ContactRoute(_Msg):
    """How an organisation takes referrals: through Suara, or outside it."""

    route: Literal["suara", "email", "phone", "web"]
    detail: str = Field(min_length=1, max_length=300)
    website: str | None = Field(default=None, pattern=r"^https://", max_length=200)


class Organisation(_Msg):
    """A member of the referral network."""

    id: str = Field(pattern=SLUG)
    name: str = Field(min_length=1, max_length=200)
    countries: list[str] = Field(min_length=1, max_length=20, description="ISO 3166-1 alpha-2")
    languages: list[str] = Field(min_length=1, max_length=30, description="BCP 47 codes")
    expertise: list[str] = Field(min_length=1, max_length=30, description=(
        "the intake form's issue categories the organisation can help with"))
    capacity: Capacity = Field(description="full: takes no new referrals for now")
    contact: ContactRoute
    example: bool = Field(default=False, description=(
        "an invented partner for development and demonstration: not a real organisation"))
    note: str = Field(default="", max_length=500)

    @field_validator("countries")
    @classmethod
    def _countries(cls, value: list[str]) -> list[str]:
        for code in value:
            if len(code) != 2 or not code.isascii() or not code.isupper():
                raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 code")
        return value

    @field_validator("languages", "expertise")
    @classmethod
    def _tokens(cls, value: list[str]) -> list[str]:
        for token in value:
            if not token or len(token) > 40 or not token.replace("-", "").isalnum():
                raise ValueError(f"{token!r} is not a code")
        return value


class DirectoryQuery(_Msg):
    """Filter the directory; every filter is optional."""

    actor: Actor
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    language: str | None = Field(default=None, max_length=16)
    expertise: str | None = Field(default=None, max_length=40)


class OrganisationList(_Msg):
    items: list[Organisation]


# consent
class ConsentRequest(_Msg):
    """The reporter's consent to share their case. Best in their own words: their reply or
    added information through the receipt inbox (`message_id`, source `reporter`; the server
    checks the message is theirs, on this case). Otherwise as a handler heard it (source
    `staff-recorded`)."""

    to_organisation: str = Field(pattern=SLUG, description=(
        "the organisation the reporter agreed to, or 'any' member of the network"))
    share_profile: ShareProfile = Field(description=(
        "the most the reporter agreed to share; a smaller profile is covered too"))
    types: list[ReferralType] = Field(default=["referral"], min_length=1, max_length=2,
                                      description="a referral (share), a transfer (hand over), "
                                                  "or both")
    obtained: str = Field(min_length=5, max_length=500, description=(
        "how and when the reporter said yes"),
        examples=["worker said yes in person on 2026-11-20"])
    message_id: UUID | None = Field(default=None, description=(
        "the reporter's own message on this case in which they agreed"))

    @field_validator("obtained")
    @classmethod
    def _said_something(cls, value: str) -> str:
        value = value.strip()
        if len(value) < 5:
            raise ValueError("say how and when the reporter agreed")
        return value


class RecordConsent(ConsentRequest):
    """A handler records the reporter's consent on a case."""

    actor: Actor
    case_id: UUID


class ConsentView(_Msg):
    consent_id: UUID
    case_id: UUID
    to_organisation: str
    share_profile: ShareProfile
    types: list[ReferralType]
    source: ConsentSource
    message_id: UUID | None = None
    obtained: str
    recorded_by: str
    recorded_on: date
    withdrawn_on: date | None = None
    withdrawn_reason: str | None = None


class WithdrawConsent(_Msg):
    """The reporter takes their consent back (a handler records it): no new referral may rely
    on it, and the open referrals that did are revoked, so the receivers lose access."""

    actor: Actor
    case_id: UUID
    consent_id: UUID
    reason: str = Field(min_length=3, max_length=2000, description=(
        "how the reporter said so, e.g. 'by phone on 2026-11-24'"))


# referrals
class ReferralRequest(_Msg):
    """Refer (share) or transfer (hand over) a case to another member organisation. The server
    checks the reporter's recorded consent; without it only a holder of the consent-override
    role may go ahead, and must say why."""

    to_organisation: str = Field(pattern=SLUG)
    type: ReferralType = "referral"
    share_profile: ShareProfile = "minimal"
    note: str = Field(default="", max_length=2000, description=(
        "for the receiving organisation: why this referral; no names or contact details"))
    override_reason: str | None = Field(default=None, max_length=1000, description=(
        "only without the reporter's consent, and only with the consent-override role"))

    @field_validator("override_reason")
    @classmethod
    def _reason(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if len(value.strip()) < 10:
            raise ValueError("explain the override in at least 10 characters")
        return value.strip()

    @model_validator(mode="after")
    def _transfer_is_whole(self) -> ReferralRequest:
        if self.type == "transfer" and self.share_profile != "full":
            raise ValueError("a transfer hands the whole case over, so its share profile is "
                             "'full'; to share less, make a referral")
        return self


class CreateReferral(ReferralRequest):
    """A handler refers or transfers a case."""

    actor: Actor
    case_id: UUID


class ReferralQuery(_Msg):
    actor: Actor
    referral_id: UUID


class ReferralListQuery(_Msg):
    actor: Actor
    direction: Direction | None = Field(default=None, description="both when left out")
    status: ReferralStatus | None = None
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=512, description=(
        "the `next_cursor` of the previous page"))


class CaseReferralsQuery(_Msg):
    actor: Actor
    case_id: UUID


class MoveReferral(_Msg):
    """Accept, reject or complete (the receiving organisation) or revoke (the sender)."""

    actor: Actor
    referral_id: UUID
    to: Move
    text: str = Field(default="", max_length=4000, description=(
        "the outcome (required to complete), or why it was rejected or revoked"))

    @model_validator(mode="after")
    def _outcome(self) -> MoveReferral:
        self.text = self.text.strip()
        if self.to == "done" and not self.text:
            raise ValueError("say what the outcome was")
        return self


class SharedCase(_Msg):
    """What a share profile lets the receiving organisation see of a case."""

    share_profile: ShareProfile
    status: str
    risk: RiskLevel
    risk_reasons: list[str]
    language: str | None = Field(default=None, description="standard and full only")
    answers: dict[str, Answer]
    identifying: list[str] = Field(default=[], description=(
        "the shared answers that could identify the worker: only ever with 'full'"))


class ReferralStep(_Msg):
    status: ReferralStatus
    on: date
    text: str = ""


class ReferralView(_Msg):
    """A referral or transfer as the sending or the receiving organisation sees it."""

    referral_id: UUID
    type: ReferralType
    status: ReferralStatus
    direction: Direction = Field(description="relative to the caller's organisation")
    from_organisation: str
    to_organisation: str
    share_profile: ShareProfile
    note: str
    created_on: date
    case_id: UUID | None = Field(default=None, description="the sender's case (sender only)")
    linked_case_id: UUID | None = Field(default=None, description=(
        "the receiving organisation's case, once accepted (for a transfer: the case itself)"))
    consent: Literal["recorded", "overridden"]
    consent_id: UUID | None = None
    override_reason: str | None = Field(default=None, description="sender only")
    outcome: str | None = None
    history: list[ReferralStep] = []
    shared: SharedCase | None = Field(default=None, description=(
        "what the receiver may see: left out of lists, and hidden from the receiver once the "
        "referral is rejected or revoked"))


class ReferralList(_Msg):
    items: list[ReferralView]
    next_cursor: str | None = Field(default=None, description=(
        "pass it as `cursor` for the next page; null on the last page"))


class CaseReferrals(_Msg):
    """A case's consents and the referrals made from it."""

    consents: list[ConsentView]
    referrals: list[ReferralView]
