"""Suara's contracts: subjects, event payloads and request-reply bodies. Data only."""
