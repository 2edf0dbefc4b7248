"""The append-only, hash-chained audit log of case reads and writes (invariant 6)."""

from __future__ import annotations

import hashlib
import json
from uuid import UUID

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases.models import AuditEntry
from suara_kit.clock import utcnow

GENESIS = "0" * 64
_CHAIN_LOCK = 0x5AA5_0001  # one chain: appends are serialised on PostgreSQL


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    """SHA-256 over the previous hash and this entry's canonical fields."""
    body = json.dumps([prev_hash, entry.at.isoformat(), entry.actor, entry.action,
                       str(entry.case_id) if entry.case_id else None], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


async def record(session: AsyncSession, actor: str, action: str, case_id: UUID | None) -> None:
    """Append one entry in the caller's transaction."""
    if session.bind.dialect.name == "postgresql":
        await session.exec(text(f"SELECT pg_advisory_xact_lock({_CHAIN_LOCK})"))  # type: ignore[call-overload]
    last = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq).desc()).limit(1))
            ).first()
    prev = last.hash if last else GENESIS
    entry = AuditEntry(at=utcnow(), actor=actor[:64], action=action, case_id=case_id,
                       prev_hash=prev, hash="")
    entry.hash = entry_hash(prev, entry)
    session.add(entry)
    await session.flush()


async def verify(session: AsyncSession) -> bool:
    """Whether every entry links to its predecessor and hashes to what it says."""
    prev = GENESIS
    for entry in await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))):
        if entry.prev_hash != prev or entry_hash(prev, entry) != entry.hash:
            return False
        prev = entry.hash
    return True
