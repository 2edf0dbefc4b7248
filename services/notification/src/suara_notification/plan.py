"""Who hears of what, on which channel: one plan per event and recipient role.

An event becomes `Planned` messages here, and nowhere else. The plan names recipients by role
(the organisation's case handlers, the session's mediator, the reporter who left a contact, the
partner endpoints subscribed to the event type) and each message by topic and parameters: ids,
references, dates, statuses. Never what a reporter said, never who they are: the templates can
only show what the plan hands them.

Event → recipients: topic (urgent when …)
- case opened → the organisation's case handlers: case-opened (high risk)
- reporter replied or added information → the case handlers: reporter-replied (a check-in
  answer, which may say the worker was punished)
- a handler wrote to the reporter → the reporter, if they left a contact: nudge
- deadline missed → the assigned handler, else the team: deadline-breached
- cluster of cases against one respondent → the case handlers: cluster-detected
- session booked, moved or cancelled → the mediator, with the invitation: session-*
- 24 h and 1 h before a session → the mediator: session-reminder; the reporter: nudge-reminder
  (urgent: a reminder after the session is useless; but a reporter's quiet hours hold even
  for urgent nudges, since a phone that buzzes at night may be seen by the employer)
- a party declined or did not come → the mediator and the handlers: party-declined/-no-show
- referral made → the receiving organisation's handlers: referral-received
- referral moved on → the sending organisation's handlers: referral-moved
- obligation missed → the case handlers: obligation-missed
- partner event types (`partner_events`) → the subscribed webhook endpoints
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from suara_contracts.events import (
    CaseOpened,
    ClusterDetected,
    DeadlineBreached,
    ObligationMissed,
    PartyAttendance,
    ReferralChanged,
    ReporterFollowUp,
    ReporterMessage,
    SessionChanged,
)

HANDLERS = "case-handler"
MEDIATOR = "mediator"
REMINDERS = (("24h", timedelta(hours=24)), ("1h", timedelta(hours=1)))

Audience = Literal["handlers", "staff", "reporter"]


@dataclass(frozen=True)
class Planned:
    """One message to send: to whom (an audience within an organisation, one staff member,
    or the reporter of a submission), about what (topic and parameters)."""

    topic: str
    audience: Audience
    organisation: str | None
    params: dict[str, object]
    urgent: bool = False
    subject: str | None = None  # one staff member (audience "staff")
    submission_id: UUID | None = None  # the reporter (audience "reporter")
    group: str | None = None
    key_suffix: str = ""  # distinguishes several messages from one event (reminders)
    not_before: datetime | None = None  # a reminder waits for its time
    fallback_to_team: bool = field(default=False)  # a named handler not registered: the team


def _iso(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def case_opened(event: CaseOpened, risk: str) -> list[Planned]:
    return [Planned("case-opened", "handlers", event.organisation,
                    {"case_id": str(event.case_id), "reference": event.reference,
                     "acknowledge_by": _iso(event.acknowledge_by), "risk": risk},
                    urgent=risk == "high")]


def reporter_followed_up(event: ReporterFollowUp, organisation: str, case_id: UUID,
                         reference: str) -> list[Planned]:
    # a check-in answer may say the worker was punished for complaining: nobody should wait
    # for the morning to read it (the answer itself is not in the message)
    return [Planned("reporter-replied", "handlers", organisation,
                    {"case_id": str(case_id), "reference": reference, "kind": event.kind},
                    urgent=event.kind == "check-in")]


def reporter_message(event: ReporterMessage) -> list[Planned]:
    return [Planned("nudge", "reporter", event.organisation, {},
                    submission_id=event.submission_id)]


def deadline_breached(event: DeadlineBreached) -> list[Planned]:
    params = {"case_id": str(event.case_id), "kind": event.kind, "due_on": _iso(event.due_on)}
    if event.assigned_to:
        return [Planned("deadline-breached", "staff", event.organisation, params,
                        subject=event.assigned_to, fallback_to_team=True)]
    return [Planned("deadline-breached", "handlers", event.organisation, params)]


def cluster_detected(event: ClusterDetected) -> list[Planned]:
    return [Planned("cluster-detected", "handlers", event.organisation,
                    {"respondent": event.respondent, "count": len(set(event.case_ids)),
                     "window_days": event.window_days})]


def _session_params(event: SessionChanged | PartyAttendance) -> dict[str, object]:
    return {"booking_id": str(event.booking_id), "case_id": str(event.case_id),
            "starts_at": _iso(event.starts_at), "ends_at": _iso(event.ends_at)}


def session_changed(event: SessionChanged, change: str, mediator: str | None,
                    submission_id: UUID | None, now: datetime) -> list[Planned]:
    """The mediator hears of the change, with the invitation; the session's reminders follow
    the change (earlier ones are cancelled by the caller through `group`)."""
    group = f"booking:{event.booking_id}"
    params = {**_session_params(event), "mode": event.mode, "sequence": event.sequence,
              "cancel_reason": event.cancel_reason}
    planned: list[Planned] = []
    if mediator:
        planned.append(Planned(f"session-{change}", "staff", event.organisation, params,
                               subject=mediator, group=group))
    if change == "cancelled":
        return planned
    worker_there = any(p.role == "worker" for p in event.parties)
    for label, ahead in REMINDERS:
        at = event.starts_at - ahead
        if at <= now:
            continue
        suffix = f":reminder:{event.sequence}:{label}"
        if mediator:
            planned.append(Planned("session-reminder", "staff", event.organisation,
                                   {**params, "before": label}, subject=mediator,
                                   urgent=True, group=group, key_suffix=suffix, not_before=at))
        if worker_there and submission_id is not None:
            planned.append(Planned("nudge-reminder", "reporter", event.organisation, {},
                                   submission_id=submission_id, urgent=True, group=group,
                                   key_suffix=suffix, not_before=at))
    return planned


def party_attendance(event: PartyAttendance, mediator: str | None) -> list[Planned]:
    if event.response == "accepted":
        return []
    topic = "party-declined" if event.response == "declined" else "party-no-show"
    params = {**_session_params(event), "party": f"{event.party.role}: {event.party.alias}"}
    planned = [Planned(topic, "handlers", event.organisation, params)]
    if mediator:
        planned.append(Planned(topic, "staff", event.organisation, params, subject=mediator))
    return planned


def referral_changed(event: ReferralChanged) -> list[Planned]:
    if event.from_status is None:
        return [Planned("referral-received", "handlers", event.to_organisation,
                        {"referral_id": str(event.referral_id), "type": event.type,
                         "from_organisation": event.from_organisation})]
    return [Planned("referral-moved", "handlers", event.from_organisation,
                    {"referral_id": str(event.referral_id), "type": event.type,
                     "to_organisation": event.to_organisation, "to_status": event.to_status})]


def obligation_missed(event: ObligationMissed) -> list[Planned]:
    return [Planned("obligation-missed", "handlers", event.organisation,
                    {"case_id": str(event.case_id), "kind": event.kind,
                     "due_on": _iso(event.due_on)})]


STAFF_TOPICS = ("case-opened", "reporter-replied", "deadline-breached", "cluster-detected",
                "session-booked", "session-rescheduled", "session-cancelled",
                "session-reminder", "party-declined", "party-no-show", "referral-received",
                "referral-moved", "obligation-missed", "delivery-failed")
