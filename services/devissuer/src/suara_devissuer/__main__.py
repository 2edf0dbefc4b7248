"""Run the development OIDC issuer: python -m suara_devissuer --host 127.0.0.1 --port 8180."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from suara_devissuer.app import create_app
from suara_devissuer.settings import DevIssuerSettings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(prog="python -m suara_devissuer", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8180)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Start the issuer under uvicorn; exit with status 2 if it refuses to start."""
    args = parse_args(argv)
    settings = DevIssuerSettings()
    if "base_url" not in settings.model_fields_set:
        settings = settings.model_copy(update={"base_url": f"http://{args.host}:{args.port}"})
    try:
        app = create_app(settings)
    except RuntimeError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    sys.stdout.write(f"suara-devissuer: issuer {app.state.issuer.issuer}\n")
    sys.stdout.flush()
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
