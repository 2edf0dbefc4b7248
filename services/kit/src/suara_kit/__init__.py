"""Plumbing shared by Suara's services: settings, database, outbox/inbox, NATS, tokens, telemetry."""
