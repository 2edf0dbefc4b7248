"""The case handlers' team alerts, under /api/v1: missed deadlines and clusters of cases against
one respondent, for the handlers of the organisation, until one of them takes an alert on.
Notification keeps the alerts (ids, dates and coding, never case content); the gateway words
them in English."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from suara_contracts.alerts import AcknowledgeAlert, AlertList, AlertsQuery, AlertView
from suara_contracts.subjects import Rpc as S
from suara_gateway.deps import HandlerDep, RpcDep
from suara_gateway.schemas import problem_responses

router = APIRouter(prefix="/api/v1", tags=["team alerts"], responses=problem_responses(422, 503))
STAFF = problem_responses(401, 403)
WRITES = {**STAFF, **problem_responses(404, 409)}

DEADLINES = {"deadline-acknowledge": "acknowledge case {case}",
             "deadline-feedback": "give the reporter feedback on case {case}",
             "deadline-update": "send the reporter an update on case {case}"}


SESSIONS = {"session-declined": "declined", "session-no-show": "did not come to"}


class TeamAlert(AlertView):
    """An alert to your organisation's case handlers, with a short English text."""

    text: str = Field(examples=["Due on 2026-11-30, missed: acknowledge case "
                                "0199a3c2-7b1e-7c4d-9a8b-1c2d3e4f5a6b. For the whole team: the "
                                "case is unassigned."])


class TeamAlerts(BaseModel):
    """Alerts nobody took on first, then the rest; newest first within each."""

    items: list[TeamAlert]
    next_cursor: str | None = Field(default=None, description=(
        "pass it as `cursor` for the next page; null on the last page"))


def wording(alert: AlertView) -> str:
    """What the alert says, in English: what is due or seen, and who should act."""
    if alert.kind in SESSIONS:
        text = (f"{alert.party} {SESSIONS[alert.kind]} the mediation session of "
                f"{alert.due_on} on case {alert.case_ids[0] if alert.case_ids else '?'}: "
                "see to it with the mediator. For the whole team.")
    elif alert.kind == "delivery-failed":
        text = (f"A notification could not be delivered after every retry ({alert.party}). "
                "Check the address or the endpoint. For the whole team.")
    elif alert.kind == "cluster":
        text = (f"{len(alert.case_ids)} cases against {alert.respondent} within "
                f"{alert.window_days} days: look at them together. For the whole team.")
    else:
        todo = DEADLINES[alert.kind].format(case=alert.case_ids[0] if alert.case_ids else "?")
        who = (f"For {alert.assigned_to}, who the case is assigned to." if alert.assigned_to
               else "For the whole team: the case is unassigned.")
        text = f"Due on {alert.due_on}, missed: {todo}. {who}"
    if alert.acknowledged_by:
        text += f" {alert.acknowledged_by} took it on, on {alert.acknowledged_on}."
    return text


def worded(alert: AlertView) -> TeamAlert:
    return TeamAlert(**alert.model_dump(), text=wording(alert))


@router.get("/alerts", responses=STAFF)
async def team_alerts(actor: HandlerDep, rpc: RpcDep, open_only: Annotated[bool, Query(
        description="only the alerts nobody took on yet")] = False,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Query(max_length=512, description=(
            "the previous page's next_cursor"))] = None) -> TeamAlerts:
    """Your organisation's alerts: deadlines missed (acknowledge, feedback, update) and
    clusters of cases against one respondent. Those nobody took on come first, newest first.
    Ids, dates and coding only, never what a reporter said."""
    reply = await rpc(S.NOTIFICATION_ALERTS, AlertsQuery(actor=actor, open_only=open_only,
                                                         limit=limit, cursor=cursor), AlertList)
    return TeamAlerts(items=[worded(a) for a in reply.items], next_cursor=reply.next_cursor)


@router.post("/alerts/{alert_id}/acknowledge", responses=WRITES)
async def acknowledge_alert(alert_id: UUID, actor: HandlerDep, rpc: RpcDep) -> TeamAlert:
    """Take an alert on ("I'm on it"): records you and the day. An alert somebody took on
    already is a 409 naming who (`acknowledged_by`, `acknowledged_on`)."""
    command = AcknowledgeAlert(actor=actor, alert_id=alert_id)
    return worded(await rpc(S.NOTIFICATION_ALERT_ACKNOWLEDGE, command, AlertView))
