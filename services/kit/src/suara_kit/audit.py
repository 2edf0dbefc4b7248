"""The append-only, hash-chained audit log of reads and writes of case data (invariant 6), for
every service that holds any: declare `class AuditEntry(AuditRow, Base, table=True)` and keep
one `AuditLog` over it.

Each entry's hash is SHA-256 over the previous entry's hash and this entry's canonical fields,
so an edited entry breaks its own hash and a removed one breaks the next link. On PostgreSQL
appends are serialised with a transaction-scoped advisory lock, so the chain never forks."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_kit.clock import utcnow
from suara_kit.db import Database, UTCDateTime

GENESIS = "0" * 64
_CHAIN_LOCK = 0x5AA5_0001  # one chain per database: appends are serialised on PostgreSQL


class AuditRow(SQLModel):
    """Mixin: declare `class AuditEntry(AuditRow, Base, table=True)` in each service."""

    __tablename__ = "audit_entry"

    seq: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=40)
    case_id: UUID | None = Field(default=None, index=True)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


def entry_hash(prev_hash: str, entry: AuditRow) -> str:
    """SHA-256 over the previous hash and this entry's canonical fields."""
    body = json.dumps([prev_hash, entry.at.isoformat(), entry.actor, entry.action,
                       str(entry.case_id) if entry.case_id else None], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    """What a verification found: how many entries, and the first broken one."""

    entries: int
    broken_at: int | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


class AuditLog:
    """One service's chain."""

    def __init__(self, row: type[AuditRow]) -> None:
        self.row = row

    async def record(self, session: AsyncSession, actor: str, action: str,
                     case_id: UUID | None) -> None:
        """Append one entry in the caller's transaction."""
        row = self.row
        if session.bind.dialect.name == "postgresql":
            await session.exec(text(f"SELECT pg_advisory_xact_lock({_CHAIN_LOCK})"))  # type: ignore[call-overload]
        last = (await session.exec(select(row).order_by(col(row.seq).desc()).limit(1))).first()
        prev = last.hash if last else GENESIS
        entry = row(at=utcnow(), actor=actor[:64], action=action[:40], case_id=case_id,
                    prev_hash=prev, hash="")
        entry.hash = entry_hash(prev, entry)
        session.add(entry)
        await session.flush()

    async def inspect(self, session: AsyncSession) -> Verdict:
        """Walk the chain; an edited entry breaks its own hash, a removed one the next link."""
        prev, count = GENESIS, 0
        for entry in await session.exec(select(self.row).order_by(col(self.row.seq))):
            if entry.prev_hash != prev:
                return Verdict(count, entry.seq, "does not link to the entry before it (an "
                               "entry was removed or reordered)")
            if entry_hash(prev, entry) != entry.hash:
                return Verdict(count, entry.seq, "its content does not match its hash (edited)")
            prev, count = entry.hash, count + 1
        return Verdict(count)

    async def verify(self, session: AsyncSession) -> bool:
        """Whether every entry links to its predecessor and hashes to what it says."""
        return (await self.inspect(session)).intact

    async def check(self, database_url: str) -> int:
        """The `verify` command's work: print the verdict; 0 intact, 1 broken."""
        db = Database(database_url)
        try:
            async with db.transaction() as session:
                verdict = await self.inspect(session)
        finally:
            await db.dispose()
        if verdict.intact:
            sys.stdout.write(f"audit log intact: {verdict.entries} entries\n")
            return 0
        sys.stdout.write(f"audit log BROKEN at entry {verdict.broken_at}: {verdict.reason} "
                         f"({verdict.entries} entries before it are intact)\n")
        return 1
