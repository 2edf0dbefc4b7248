"""Request and reply bodies of the team alert feed (the `suara.rpc.notification.v1.alert*`
subjects): notification turns case-management's `DeadlineBreached` and `ClusterDetected`
events into alerts for the case handlers of the organisation, and a handler takes one on
("I'm on it").

An alert carries ids, dates and the case's coding (a cluster's respondent) only: never what the
reporter said, never a message. The gateway words it in English."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import Field

from suara_contracts.rpc import Actor, _Msg

AlertKind = Literal["deadline-acknowledge", "deadline-feedback", "deadline-update", "cluster",
                    "session-declined", "session-no-show", "delivery-failed"]


class AlertsQuery(_Msg):
    """The calling case handler's organisation's alerts."""

    actor: Actor
    open_only: bool = Field(default=False, description="only the alerts nobody took on yet")
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=512, description=(
        "the `next_cursor` of the previous page"))


class AcknowledgeAlert(_Msg):
    """A case handler takes an alert on ("I'm on it")."""

    actor: Actor
    alert_id: UUID


class AlertView(_Msg):
    """An alert to the case handlers of one organisation: a missed deadline or a cluster of
    cases against one respondent. Ids, dates and coding only: no case content."""

    alert_id: UUID
    organisation: str
    kind: AlertKind
    case_ids: list[UUID] = Field(description=(
        "the case that missed its deadline, or every case of the cluster"))
    due_on: date | None = Field(default=None, description="a deadline's due date")
    window_days: int | None = Field(default=None, description=(
        "a cluster's window: the cases arrived within this many days"))
    respondent: str | None = Field(default=None, description=(
        "a cluster's respondent, as handlers coded it"))
    party: str | None = Field(default=None, description=(
        "a session alert's party, by role and alias (e.g. 'employer: Employer HR')"))
    assigned_to: str | None = Field(default=None, description=(
        "who should act: the handler the case is assigned to; null: the whole team (an "
        "unassigned case, a cluster)"))
    raised_on: date = Field(description="the day the alert arrived (a date, no time)")
    acknowledged_by: str | None = Field(default=None, description=(
        "the handler who took the alert on; null while nobody has"))
    acknowledged_on: date | None = None


class AlertList(_Msg):
    """Alerts nobody took on first, then the rest; newest first within each."""

    items: list[AlertView]
    next_cursor: str | None = Field(default=None, description=(
        "pass it as `cursor` for the next page; null on the last page"))
