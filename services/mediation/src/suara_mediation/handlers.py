"""Mediation-scheduling's NATS endpoints and event consumers."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.events import CaseOpened
from suara_contracts.rpc import ProposeSession, SessionView
from suara_contracts.subjects import Evt, Rpc
from suara_kit.service import ServiceApp
from suara_mediation import service
from suara_mediation.models import Inbox, Outbox
from suara_mediation.settings import MediationSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: MediationSettings | None = None) -> ServiceApp:
    """The mediation-scheduling service, wired."""
    settings = settings or MediationSettings()
    app = ServiceApp("mediation-scheduling", settings, migrations=MIGRATIONS, outbox=Outbox,
                     inbox=Inbox, rpc_prefix=Rpc.MEDIATION)

    async def propose(request: ProposeSession) -> SessionView:
        async with app.transaction() as session:
            row = await service.propose(session, request, app.emit)
        return service.view_of(row)

    async def on_case_opened(session: AsyncSession, _: UUID, event: CaseOpened) -> None:
        await service.case_opened(session, event)

    app.rpc(Rpc.MEDIATION_PROPOSE, ProposeSession, propose)
    app.on_event(Evt.CASE_OPENED, CaseOpened, "mediation-case-opened", on_case_opened)
    return app
