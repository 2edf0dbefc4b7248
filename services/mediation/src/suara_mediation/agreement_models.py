"""Tables of mediated agreements: the agreement and its typed obligations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from sqlalchemy import JSON, Column, Numeric, Text
from sqlmodel import Field

from suara_mediation.models import Base


class Agreement(Base, table=True):
    """What the parties agreed in mediation on one case. A draft until signed; signing needs
    the worker's acknowledgement of the outside options they keep."""

    __tablename__ = "agreement"

    id: UUID = Field(primary_key=True)
    case_id: UUID = Field(index=True)
    organisation: str = Field(max_length=64, index=True)
    status: str = Field(max_length=16)
    drafted_by: str = Field(max_length=200)
    drafted_on: date
    worker_language: str = Field(max_length=16)
    options_version: str | None = Field(default=None, max_length=40)
    options_acknowledged_on: date | None = None
    options_acknowledged_by: str | None = Field(default=None, max_length=16)
    signed_on: date | None = None


class Obligation(Base, table=True):
    """One typed obligation of an agreement, with its due date and its compliance check."""

    __tablename__ = "obligation"

    id: UUID = Field(primary_key=True)
    agreement_id: UUID = Field(foreign_key="agreement.id", index=True)
    position: int
    kind: str = Field(max_length=24)
    description: str = Field(sa_column=Column(Text, nullable=False))
    due_on: date = Field(index=True)
    amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 2), nullable=True))
    currency: str | None = Field(default=None, max_length=3)
    entitlement: Decimal | None = Field(default=None, sa_column=Column(Numeric(14, 2),
                                                                       nullable=True))
    waives_right: bool = False
    flags: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    flag_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(default="pending", max_length=16, index=True)
    checked_on: date | None = None
    checked_by: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
