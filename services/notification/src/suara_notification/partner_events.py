"""What partners hear of, and in which words: the event types a webhook may subscribe to
(`EVENT_TYPES`, the contract's catalog) and the thin payload each Suara event becomes.

Thin: ids, statuses and dates only. Never text (a message, a note, a reason), never a
submission id (the key to a reporter's inbox), never the parties' aliases. A partner that needs
more asks the API with its own token, where access rules apply.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from suara_contracts.events import (
    CaseOpened,
    CaseShredded,
    CaseStatusChanged,
    DeadlineBreached,
    ObligationMissed,
    ReferralChanged,
    SessionChanged,
)
from suara_contracts.subjects import Evt
from suara_contracts.webhooks import EVENT_TYPES

__all__ = ["EVENT_TYPES", "partner_events", "payload"]

PartnerEvent = tuple[str, str, dict[str, Any]]
SESSIONS = {Evt.SESSION_BOOKED: "session.booked", Evt.SESSION_RESCHEDULED: "session.rescheduled",
            Evt.SESSION_CANCELLED: "session.cancelled"}
REFERRALS = {Evt.REFERRAL_CREATED, Evt.REFERRAL_ACCEPTED, Evt.REFERRAL_REJECTED,
             Evt.REFERRAL_COMPLETED, Evt.REFERRAL_REVOKED}


def _json(value: object) -> object:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _pick(event: BaseModel, *names: str) -> dict[str, Any]:
    return {name: _json(getattr(event, name)) for name in names}


def _referral(event: ReferralChanged) -> list[PartnerEvent]:
    """Both sides hear of it; each only of its own case."""
    common = _pick(event, "referral_id", "type", "from_status", "to_status",
                   "from_organisation", "to_organisation")
    return [(event.from_organisation, "referral.changed",
             {**common, **_pick(event, "case_id")}),
            (event.to_organisation, "referral.changed",
             {**common, **_pick(event, "linked_case_id")})]


def partner_events(subject: str, event: BaseModel) -> list[PartnerEvent]:
    """(organisation, event type, data) for each organisation that should hear of an event;
    none for an event partners do not subscribe to."""
    if subject == Evt.CASE_OPENED and isinstance(event, CaseOpened):
        return [(event.organisation, "case.opened", _pick(event, "case_id", "reference"))]
    if subject == Evt.CASE_STATUS_CHANGED and isinstance(event, CaseStatusChanged):
        return [(event.organisation, "case.status_changed",
                 _pick(event, "case_id", "from_status", "to_status"))]
    if subject == Evt.DEADLINE_BREACHED and isinstance(event, DeadlineBreached):
        return [(event.organisation, "case.deadline_missed",
                 _pick(event, "case_id", "kind", "due_on"))]
    if subject == Evt.CASE_SHREDDED and isinstance(event, CaseShredded):
        return [(event.organisation, "case.shredded", _pick(event, "case_id"))]
    if subject in REFERRALS and isinstance(event, ReferralChanged):
        return _referral(event)
    if subject in SESSIONS and isinstance(event, SessionChanged):
        return [(event.organisation, SESSIONS[subject],
                 _pick(event, "booking_id", "mediation_id", "case_id", "starts_at", "ends_at",
                       "sequence"))]
    if subject == Evt.OBLIGATION_MISSED and isinstance(event, ObligationMissed):
        return [(event.organisation, "agreement.obligation_missed",
                 _pick(event, "case_id", "agreement_id", "obligation_id", "kind", "due_on"))]
    return []


def payload(type: str, data: dict[str, Any], at: datetime) -> str:
    """The webhook body: `{"data": …, "timestamp": …, "type": …}`, compact, keys sorted, so
    the same event always gives the same bytes (and the same signature)."""
    body = {"type": type, "timestamp": _json(at), "data": data}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
