"""Tables of referrals between organisations: the reporter's consent, and one transition record
per referral or transfer with its steps."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import JSON, Column, LargeBinary, Text
from sqlmodel import Field

from suara_cases.models import Base


class CaseConsent(Base, table=True):
    """The reporter's consent to share their case: with whom, how much, for what, and how it
    was obtained."""

    __tablename__ = "case_consent"

    id: UUID = Field(primary_key=True)
    case_id: UUID = Field(foreign_key="case.id", index=True)
    to_organisation: str = Field(max_length=64, description="an organisation, or 'any'")
    share_profile: str = Field(max_length=16)
    types: list = Field(sa_column=Column(JSON, nullable=False))
    source: str = Field(max_length=16, description=(
        "staff-recorded, or reporter: their own message on the case (message_id) says yes"))
    message_id: UUID | None = Field(default=None, description=(
        "the reporter's message on the case that gives this consent"))
    obtained: str = Field(sa_column=Column(Text, nullable=False))
    recorded_by: str = Field(max_length=64)
    recorded_on: date
    withdrawn_on: date | None = None
    withdrawn_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class CaseReferral(Base, table=True):
    """A referral (shares) or transfer (moves ownership on acceptance) of a case to another
    organisation; `shared` is the projection the sender's share profile allowed, taken when it
    was made."""

    __tablename__ = "case_referral"

    id: UUID = Field(primary_key=True)
    case_id: UUID = Field(foreign_key="case.id", index=True)
    type: str = Field(max_length=16)
    status: str = Field(max_length=16)
    from_organisation: str = Field(max_length=64, index=True)
    to_organisation: str = Field(max_length=64, index=True)
    share_profile: str = Field(max_length=16)
    note: str = Field(sa_column=Column(Text, nullable=False))
    consent_id: UUID | None = Field(default=None, foreign_key="case_consent.id")
    override_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sealed_shared: bytes | None = Field(default=None, sa_column=Column(
        LargeBinary, nullable=True), description="the projection, sealed with the case's key")
    legacy_shared: dict | None = Field(default=None, sa_column=Column(
        "shared", JSON(none_as_null=True), nullable=True))
    linked_case_id: UUID | None = Field(default=None, foreign_key="case.id")
    created_by: str = Field(max_length=64)
    created_on: date


class ReferralStep(Base, table=True):
    """One move of a referral: who moved it where, when, and what they said (the outcome, or
    why it was rejected or revoked)."""

    __tablename__ = "case_referral_step"

    id: UUID = Field(primary_key=True)
    referral_id: UUID = Field(foreign_key="case_referral.id", index=True)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    actor: str = Field(max_length=64)
    moved_on: date
    text: str = Field(sa_column=Column(Text, nullable=False))
