"""Partner webhooks under /api/v1: an organisation's partner system (or an administrator of
the organisation) subscribes its HTTPS endpoints to event types; notification POSTs each event,
signed the Standard Webhooks way, retries, and shows every delivery. Payloads are thin (ids,
statuses, dates): a partner asks the API for more with its own token."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from suara_contracts.rpc import Actor
from suara_contracts.subjects import Rpc as S
from suara_contracts.webhooks import (
    EVENT_TYPES,
    CreateWebhook,
    DeliveriesQuery,
    DeliveryList,
    ReplayBody,
    Replayed,
    ReplayWebhook,
    SecretRotated,
    UpdateWebhook,
    WebhookBody,
    WebhookChanges,
    WebhookCreated,
    WebhookDeleted,
    WebhookList,
    WebhookQuery,
    WebhooksQuery,
    WebhookView,
)
from suara_gateway.deps import RpcDep, require_any_role
from suara_gateway.schemas import Public, problem_responses

router = APIRouter(prefix="/api/v1", tags=["partner webhooks"],
                   responses=problem_responses(422, 503))
STAFF = problem_responses(401, 403)
ONE = {**STAFF, **problem_responses(404)}
WRITES = {**ONE, **problem_responses(409)}
# the organisation's own configuration, never case content: its partner system or an
# administrator of it (notification refuses an account of no organisation)
ManagerDep = Annotated[Actor, Depends(require_any_role("cso-partner", "admin"))]


class EventType(BaseModel):
    type: str = Field(examples=["case.opened"])
    description: str


class EventTypes(BaseModel):
    """The event types a webhook may subscribe to."""

    items: list[EventType]


@router.get("/webhook-event-types", responses=STAFF)
async def webhook_event_types(_: ManagerDep) -> EventTypes:
    """What a webhook can be sent. Every payload is `{"type", "timestamp", "data"}` with ids,
    statuses and dates in `data`, never what a reporter said."""
    return EventTypes(items=[EventType(type=k, description=v) for k, v in EVENT_TYPES.items()])


@router.post("/webhooks", status_code=201, responses=WRITES)
async def create_webhook(body: Public[WebhookBody], actor: ManagerDep, rpc: RpcDep) -> WebhookCreated:
    """Subscribe an https endpoint to event types. The answer holds the signing secret, shown
    only this once. At most 20 webhooks per organisation (409); a URL that leads to a private
    address is refused (422)."""
    command = CreateWebhook(actor=actor, **body.model_dump())
    return await rpc(S.NOTIFICATION_WEBHOOK_CREATE, command, WebhookCreated)


@router.get("/webhooks", responses=STAFF)
async def list_webhooks(actor: ManagerDep, rpc: RpcDep) -> WebhookList:
    """Your organisation's webhooks (without their secrets)."""
    return await rpc(S.NOTIFICATION_WEBHOOK_LIST, WebhooksQuery(actor=actor), WebhookList)


@router.get("/webhooks/{webhook_id}", responses=ONE)
async def get_webhook(webhook_id: UUID, actor: ManagerDep, rpc: RpcDep) -> WebhookView:
    """One webhook: where it goes, what it gets, whether it is failing or disabled, and why."""
    query = WebhookQuery(actor=actor, webhook_id=webhook_id)
    return await rpc(S.NOTIFICATION_WEBHOOK_GET, query, WebhookView)


@router.patch("/webhooks/{webhook_id}", responses=WRITES)
async def update_webhook(webhook_id: UUID, body: Public[WebhookChanges], actor: ManagerDep,
                         rpc: RpcDep) -> WebhookView:
    """Change the URL, description or event types, or pause (`enabled: false`) and resume
    (`enabled: true`, which also clears why it was disabled)."""
    command = UpdateWebhook(actor=actor, webhook_id=webhook_id,
                            **body.model_dump(exclude_unset=True))
    return await rpc(S.NOTIFICATION_WEBHOOK_UPDATE, command, WebhookView)


@router.delete("/webhooks/{webhook_id}", status_code=204, response_class=Response,
               responses=ONE)
async def delete_webhook(webhook_id: UUID, actor: ManagerDep, rpc: RpcDep) -> Response:
    """Delete a webhook and its secrets; messages not sent yet are cancelled."""
    query = WebhookQuery(actor=actor, webhook_id=webhook_id)
    await rpc(S.NOTIFICATION_WEBHOOK_DELETE, query, WebhookDeleted)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/secret", responses=ONE)
async def rotate_webhook_secret(webhook_id: UUID, actor: ManagerDep,
                                rpc: RpcDep) -> SecretRotated:
    """A new signing secret, shown only this once. For 24 hours every message is signed with
    the previous secret too (`previous_valid_until`), so your receiver can switch over."""
    query = WebhookQuery(actor=actor, webhook_id=webhook_id)
    return await rpc(S.NOTIFICATION_WEBHOOK_ROTATE, query, SecretRotated)


@router.get("/webhooks/{webhook_id}/deliveries", responses=ONE)
async def webhook_deliveries(
        webhook_id: UUID, actor: ManagerDep, rpc: RpcDep,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=512, description=(
            "the previous page's next_cursor"))] = None) -> DeliveryList:
    """The webhook's messages, newest first, each with its attempts (status, HTTP status,
    time taken)."""
    query = DeliveriesQuery(actor=actor, webhook_id=webhook_id, limit=limit, cursor=cursor)
    return await rpc(S.NOTIFICATION_WEBHOOK_DELIVERIES, query, DeliveryList)


@router.post("/webhooks/{webhook_id}/replay", status_code=202, responses=WRITES)
async def replay_webhook(webhook_id: UUID, body: Public[ReplayBody], actor: ManagerDep,
                         rpc: RpcDep) -> Replayed:
    """Send again one message (`message_id`) or every message since a time (`since`, at
    most 1000), with their original `webhook-id`s so your receiver can drop duplicates. A
    disabled webhook must be enabled first (409)."""
    command = ReplayWebhook(actor=actor, webhook_id=webhook_id, **body.model_dump())
    return await rpc(S.NOTIFICATION_WEBHOOK_REPLAY, command, Replayed)
