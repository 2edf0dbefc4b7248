"""Cross-service fixtures: the four services in-process on a real nats-server, the gateway over
ASGI, and tokens from the development issuer built from the realm file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from suara_cases.handlers import build as build_cases
from suara_cases.settings import CasesSettings
from suara_devissuer.app import create_app as create_issuer
from suara_devissuer.settings import DevIssuerSettings
from suara_gateway.app import create_app as create_gateway
from suara_gateway.settings import GatewaySettings
from suara_intake.handlers import build as build_intake
from suara_intake.settings import IntakeSettings
from suara_kit.auth import TokenValidator
from suara_kit.service import ServiceApp
from suara_mediation.handlers import build as build_mediation
from suara_mediation.settings import MediationSettings
from suara_notification.handlers import build as build_notification
from suara_notification.settings import NotificationSettings

ISSUER_BASE = "http://issuer.test"
ISSUER = f"{ISSUER_BASE}/realms/suara"
PASSWORD = "suara-dev"

_EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="session")
def spans() -> InMemorySpanExporter:
    """Every span this test process finishes."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    trace.set_tracer_provider(provider)
    return _EXPORTER


@dataclass
class System:
    """The running system as a test sees it."""

    http: httpx.AsyncClient
    issuer: httpx.AsyncClient
    services: dict[str, ServiceApp]

    async def token(self, username: str) -> str:
        """An access token for a seeded development user (password grant)."""
        reply = await self.issuer.post("/realms/suara/protocol/openid-connect/token", data={
            "grant_type": "password", "client_id": "suara-cli", "username": username,
            "password": PASSWORD})
        assert reply.status_code == 200, reply.text
        return str(reply.json()["access_token"])

    async def auth(self, username: str) -> dict[str, str]:
        """Authorization header for a seeded user."""
        return {"Authorization": f"Bearer {await self.token(username)}"}


@pytest.fixture
def notification_overrides() -> dict[str, Any]:
    """Extra settings for the system's notification service (SMTP, SMS, webhooks); a test
    module that needs them overrides this fixture."""
    return {}


@pytest.fixture
async def system(nats_url: str, database_url: Callable[[str], str], tmp_path: Path,
                 spans: InMemorySpanExporter,
                 notification_overrides: dict[str, Any]) -> AsyncIterator[System]:
    """Intake, case-management, mediation-scheduling and notification on one nats-server,
    each with its own fresh database, and the gateway in front of them."""
    common = {"nats_url": nats_url, "var_dir": tmp_path, "env": "test"}
    services = {
        "intake": build_intake(IntakeSettings(database_url=database_url("intake"), **common)),
        "case-management": build_cases(CasesSettings(database_url=database_url("cases"),
                                                      **common)),
        "mediation-scheduling": build_mediation(
            MediationSettings(database_url=database_url("mediation"), **common)),
        "notification": build_notification(
            NotificationSettings(database_url=database_url("notification"), **common,
                                 **notification_overrides)),
    }
    for app in services.values():
        await app.start()
    issuer_app = create_issuer(DevIssuerSettings(base_url=ISSUER_BASE))
    issuer = httpx.AsyncClient(transport=httpx.ASGITransport(app=issuer_app),
                               base_url=ISSUER_BASE)
    validator = TokenValidator(issuer=ISSUER, audience="suara-api", http=issuer)
    gateway = create_gateway(GatewaySettings(nats_url=nats_url, oidc_issuer=ISSUER), validator)
    async with gateway.router.lifespan_context(gateway):
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=gateway),
                                 base_url="http://gateway.test")
        try:
            yield System(http=http, issuer=issuer, services=services)
        finally:
            await http.aclose()
    await issuer.aclose()
    for app in services.values():
        await app.stop()


# PostgreSQL: every service's own tests (services/*/tests) run on both backends, and so do the
# cross-service suites below, which store, shred, lock and recover through every service. The
# other suites here test HTTP, tokens, roles and wiring, which the backend does not change:
# they run once, on SQLite, to keep `make test` within its time budget.
POSTGRES_SUITES = frozenset({
    "test_journey.py", "test_retention.py", "test_mediation_booking.py", "test_referrals.py",
    "test_case_work.py", "test_notifications.py", "test_idempotency.py",
    "test_journey_processes.py", "test_group_commit.py",
    # tests/faults: every fault on PostgreSQL, the deployment's database (and on SQLite too)
    "test_kill_each_process.py", "test_nats_restart.py", "test_postgres_outage.py",
    "test_scale_out.py",
})
HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave out the PostgreSQL variant of this folder's suites not in POSTGRES_SUITES."""
    keep, left_out = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("db_backend") == "postgresql"
        if (on_postgres and HERE in item.path.parents
                and item.path.name not in POSTGRES_SUITES):
            left_out.append(item)
        else:
            keep.append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = keep
