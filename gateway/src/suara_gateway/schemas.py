"""Shapes of the public HTTP API that are not simply the service contracts."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from suara_contracts.rpc import InboxMessage, SessionMode


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportLookup(_Body):
    """Reference and receipt, sent in a body so they never land in a URL or a log."""

    reference: str = Field(min_length=1, max_length=32, examples=["SU-K7M2-9QXD"])
    receipt: str = Field(min_length=1, max_length=64)


class ReporterView(BaseModel):
    """What a reporter sees: status and the messages in their inbox."""

    reference: str
    status: str
    received_on: date
    messages: list[InboxMessage]


class Acknowledgement(_Body):
    message: str = Field(min_length=1, max_length=4000,
                         description="shown to the reporter in their receipt-protected inbox")


class SessionProposal(_Body):
    starts_at: datetime
    ends_at: datetime
    timezone: str = Field(min_length=1, max_length=64, examples=["Asia/Kuala_Lumpur"])
    mode: SessionMode = "in-person"


class Readiness(BaseModel):
    status: str
    services: dict[str, str]
