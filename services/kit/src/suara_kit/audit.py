"""The append-only, hash-chained audit log of reads and writes of case data (invariant 6), for
every service that holds any: declare `class AuditEntry(AuditRow, Base, table=True)`, keep one
`AuditLog` over it, and run its `chain_pending` every second or so (`ServiceApp.every`).

Each entry's hash is SHA-256 over the previous entry's hash and this entry's canonical fields,
so an edited entry breaks its own hash and a removed one breaks the next link.

Recording and chaining are apart. `record` only inserts the entry, in the caller's transaction:
chaining it there meant every transaction that recorded anything held the chain's lock until it
committed, so at most one case could be opened at a time (about 70 a second on PostgreSQL,
whatever the number of cores; the load benchmark found it). `chain_pending` then gives the
entries committed since the last run their place in the chain (`position`), in the order it
sees them, with their hashes, under a transaction-scoped advisory lock on PostgreSQL so one
replica chains at a time. An entry is tamper-evident once chained, a second or so after its
commit; `inspect` counts the entries not chained yet and does not call them broken."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, text
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_kit.clock import utcnow
from suara_kit.db import Database, UTCDateTime

GENESIS = "0" * 64
_CHAIN_LOCK = 0x5AA5_0001  # one chain per database: one chainer at a time on PostgreSQL
CHAIN_BATCH = 1000  # entries chained per transaction


class AuditRow(SQLModel):
    """Mixin: declare `class AuditEntry(AuditRow, Base, table=True)` in each service."""

    __tablename__ = "audit_entry"

    seq: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=40)
    case_id: UUID | None = Field(default=None, index=True)
    # set by `chain_pending`, all three together; None for an entry not chained yet
    position: int | None = Field(default=None, unique=True)
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64)


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
    pending: int = 0  # recorded, not chained yet

    @property
    def intact(self) -> bool:
        return self.broken_at is None


class AuditLog:
    """One service's chain."""

    def __init__(self, row: type[AuditRow]) -> None:
        self.row = row

    async def record(self, session: AsyncSession, actor: str, action: str,
                     case_id: UUID | None) -> None:
        """Add one entry in the caller's transaction (no lock: `chain_pending` chains it)."""
        session.add(self.row(at=utcnow(), actor=actor[:64], action=action[:40],
                             case_id=case_id))

    async def chain(self, session: AsyncSession, limit: int = CHAIN_BATCH) -> int:
        """Chain up to `limit` committed entries not chained yet, in the order of their `seq`;
        how many. On PostgreSQL a replica that finds another one chaining does nothing."""
        row = self.row
        if session.bind.dialect.name == "postgresql":
            locked = (await session.exec(text(  # type: ignore[call-overload]
                f"SELECT pg_try_advisory_xact_lock({_CHAIN_LOCK})"))).scalar_one()
            if not locked:
                return 0
        pending = list(await session.exec(select(row).where(col(row.position).is_(None))
                                          .order_by(col(row.seq)).limit(limit)))
        if not pending:
            return 0
        last = (await session.exec(select(row).where(col(row.position).is_not(None))
                                   .order_by(col(row.position).desc()).limit(1))).first()
        position = last.position if last and last.position is not None else 0
        prev = last.hash if last and last.hash else GENESIS
        for entry in pending:
            position += 1
            entry.position, entry.prev_hash = position, prev
            entry.hash = prev = entry_hash(prev, entry)
        return len(pending)

    async def chain_pending(self, db: Database) -> int:
        """Chain everything committed so far (the periodic job); how many entries."""
        total = 0
        while True:
            async with db.transaction() as session:
                done = await self.chain(session)
            total += done
            if done < CHAIN_BATCH:
                return total

    async def inspect(self, session: AsyncSession) -> Verdict:
        """Walk the chain; an edited entry breaks its own hash, a removed one the next link.
        Entries not chained yet are counted as pending."""
        row = self.row
        prev, count = GENESIS, 0
        for entry in await session.exec(select(row).where(col(row.position).is_not(None))
                                        .order_by(col(row.position))):
            if entry.prev_hash != prev:
                return Verdict(count, entry.seq, "does not link to the entry before it (an "
                               "entry was removed or reordered)")
            if entry_hash(prev, entry) != entry.hash:
                return Verdict(count, entry.seq, "its content does not match its hash (edited)")
            prev, count = entry.hash, count + 1
        pending = (await session.exec(select(func.count()).select_from(row).where(
            col(row.position).is_(None)))).one()
        return Verdict(count, pending=int(pending))

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
            waiting = f" ({verdict.pending} not chained yet)" if verdict.pending else ""
            sys.stdout.write(f"audit log intact: {verdict.entries} entries{waiting}\n")
            return 0
        sys.stdout.write(f"audit log BROKEN at entry {verdict.broken_at}: {verdict.reason} "
                         f"({verdict.entries} entries before it are intact)\n")
        return 1
