"""Notification's partner webhook endpoints (`suara.rpc.notification.v1.webhook-*`): thin
wrappers running the rules in `suara_notification.webhooks`, each in one transaction."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.subjects import Rpc
from suara_contracts.webhooks import (
    CreateWebhook,
    DeliveriesQuery,
    ReplayWebhook,
    SecretRotated,
    UpdateWebhook,
    WebhookCreated,
    WebhookQuery,
    WebhooksQuery,
    WebhookView,
)
from suara_kit.service import ServiceApp
from suara_notification import webhooks
from suara_notification.settings import NotificationSettings


def register(app: ServiceApp, settings: NotificationSettings) -> None:
    """Serve the webhook subscription RPCs on `app` (before it starts)."""
    sealer = webhooks.secret_sealer(settings)
    allow = list(settings.webhook_allow_networks)

    async def create(session: AsyncSession, command: CreateWebhook) -> WebhookCreated:
        return await webhooks.create(session, command, sealer=sealer, allow_networks=allow)

    async def update(session: AsyncSession, command: UpdateWebhook) -> WebhookView:
        return await webhooks.update(session, command, allow_networks=allow)

    async def rotate(session: AsyncSession, query: WebhookQuery) -> SecretRotated:
        return await webhooks.rotate(session, query, sealer=sealer)

    app.rpc(Rpc.NOTIFICATION_WEBHOOK_CREATE, CreateWebhook, app.transactional(create))
    app.rpc(Rpc.NOTIFICATION_WEBHOOK_LIST, WebhooksQuery,
            app.transactional(webhooks.list_endpoints))
    app.rpc(Rpc.NOTIFICATION_WEBHOOK_GET, WebhookQuery, app.transactional(webhooks.get))
    app.rpc(Rpc.NOTIFICATION_WEBHOOK_UPDATE, UpdateWebhook, app.transactional(update))
    app.rpc(Rpc.NOTIFICATION_WEBHOOK_DELETE, WebhookQuery, app.transactional(webhooks.delete))
    app.rpc(Rpc.NOTIFICATION_WEBHOOK_ROTATE, WebhookQuery, app.transactional(rotate))
    app.rpc(Rpc.NOTIFICATION_WEBHOOK_DELIVERIES, DeliveriesQuery,
            app.transactional(webhooks.deliveries))
    app.rpc(Rpc.NOTIFICATION_WEBHOOK_REPLAY, ReplayWebhook, app.transactional(webhooks.replay))
