"""Plumbing shared by Suara's services: settings, database, outbox/inbox, NATS, tokens, telemetry."""

from suara_kit import speedups as _speedups  # noqa: F401  (before any model is built)
