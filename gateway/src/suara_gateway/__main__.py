"""`python -m suara_gateway`: serve the gateway with uvicorn."""

from __future__ import annotations

import uvicorn

from suara_gateway.app import create_app
from suara_gateway.settings import GatewaySettings
from suara_kit.logs import configure_logging
from suara_kit.service import settle_garbage_collector


def main() -> None:
    """Run on the configured host and port, with uvicorn's own access log off."""
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    app = create_app(settings)
    settle_garbage_collector()  # as the services do (suara_kit.service)
    uvicorn.run(app, host=settings.host, port=settings.port, access_log=False,
                proxy_headers=False, server_header=False, log_config=None)


if __name__ == "__main__":
    main()
