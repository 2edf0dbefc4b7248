"""Request and reply bodies of mediated agreements (the `suara.rpc.mediation.v1.agreement-*`
subjects): typed obligations with due dates and compliance checks, the worker's
acknowledgement of the outside options they keep, and flags on terms that waive a right or pay
below a stated entitlement."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

from pydantic import Field, model_validator

from suara_contracts.rpc import Actor, _Msg

ObligationKind = Literal["payment", "return-documents", "reinstatement", "reference-letter",
                         "apology", "policy-change"]
ObligationStatus = Literal["pending", "met", "missed"]
AgreementStatus = Literal["draft", "signed"]
Flag = Literal["waives-right", "below-entitlement"]
CURRENCY = r"^[A-Z]{3}$"


class ObligationTerm(_Msg):
    """One thing the employer side (usually) promises, by a date."""

    kind: ObligationKind
    description: str = Field(min_length=3, max_length=1000, examples=[
        "Pay the three months' wages owed, by bank transfer"])
    due_on: date
    amount: Decimal | None = Field(default=None, gt=0, max_digits=14, decimal_places=2,
                                   description="for a payment: how much")
    currency: str | None = Field(default=None, pattern=CURRENCY)
    entitlement: Decimal | None = Field(default=None, gt=0, max_digits=14, decimal_places=2,
                                        description=(
        "what the worker is entitled to for this (e.g. wages owed under the contract or "
        "the law), when known: a payment below it is flagged"))
    waives_right: bool = Field(default=False, description=(
        "the term gives up a right (e.g. not to complain to the labour department): flagged"))
    flag_reason: str | None = Field(default=None, max_length=2000, description=(
        "why a flagged term is acceptable anyway, in the worker's interest; required when "
        "the term is flagged"))

    @model_validator(mode="after")
    def _payment_has_money(self) -> ObligationTerm:
        if self.kind == "payment" and (self.amount is None or self.currency is None):
            raise ValueError("a payment needs an amount and a currency (ISO 4217, e.g. MYR)")
        if self.kind != "payment" and (self.amount is not None or self.entitlement is not None):
            raise ValueError("only a payment has an amount or an entitlement")
        return self

    def found_flags(self) -> list[Flag]:
        """What about this term needs a recorded reason."""
        found: list[Flag] = []
        if self.waives_right:
            found.append("waives-right")
        if self.amount is not None and self.entitlement is not None and (
                self.amount < self.entitlement):
            found.append("below-entitlement")
        return found


class AgreementDraft(_Msg):
    obligations: list[ObligationTerm] = Field(min_length=1, max_length=30)
    worker_language: str = Field(min_length=2, max_length=16, description=(
        "the language the worker reads the outside options in (en, id, fil, ms, th, vi, km, "
        "my, zh_Hant)"))


class DraftAgreement(AgreementDraft):
    actor: Actor
    case_id: UUID


class AgreementQuery(_Msg):
    actor: Actor
    agreement_id: UUID


class CaseAgreementsQuery(_Msg):
    actor: Actor
    case_id: UUID


class AcknowledgeOptionsBody(_Msg):
    language: str = Field(min_length=2, max_length=16, description=(
        "the language the text was shown in (it must be the one returned by the agreement)"))
    text_version: str = Field(min_length=1, max_length=40, description=(
        "`outside_options.version` as shown to the worker: the text they acknowledged"))
    acknowledged_by: Literal["worker", "representative"] = "worker"


class AcknowledgeOptions(AcknowledgeOptionsBody):
    actor: Actor
    agreement_id: UUID


class SignAgreement(_Msg):
    actor: Actor
    agreement_id: UUID


class ComplianceBody(_Msg):
    met: bool
    note: str = Field(default="", max_length=2000)


class RecordCompliance(ComplianceBody):
    actor: Actor
    agreement_id: UUID
    obligation_id: UUID


class OutsideOptions(_Msg):
    """What the worker keeps whatever they sign, in their language."""

    language: str
    version: str
    text: str
    needs_native_review: bool = Field(default=False, description=(
        "the translation is a draft that a native speaker has not checked yet"))


class ObligationView(ObligationTerm):
    obligation_id: UUID
    status: ObligationStatus
    flags: list[Flag] = Field(default=[], description=(
        "what about the term needed a recorded reason (`flag_reason`)"))
    checked_on: date | None = None
    checked_by: str | None = None
    note: str | None = None


class AgreementView(_Msg):
    agreement_id: UUID
    case_id: UUID
    status: AgreementStatus
    drafted_by: str
    drafted_on: date
    worker_language: str
    outside_options: OutsideOptions
    options_acknowledged_on: date | None = None
    options_acknowledged_by: str | None = None
    signed_on: date | None = None
    obligations: list[ObligationView]


class AgreementList(_Msg):
    items: list[AgreementView]
