"""The append-only, hash-chained audit log of case reads and writes (invariant 6)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases.models import AuditEntry
from suara_cases.settings import CasesSettings
from suara_kit.clock import utcnow
from suara_kit.db import Database

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


@dataclass(frozen=True)
class Verdict:
    """What a verification found: how many entries, and the first broken one."""

    entries: int
    broken_at: int | None = None
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


async def inspect(session: AsyncSession) -> Verdict:
    """Walk the chain; an edited entry breaks its own hash, a removed one the next link."""
    prev, count = GENESIS, 0
    for entry in await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq))):
        if entry.prev_hash != prev:
            return Verdict(count, entry.seq, "does not link to the entry before it (an entry "
                           "was removed or reordered)")
        if entry_hash(prev, entry) != entry.hash:
            return Verdict(count, entry.seq, "its content does not match its hash (edited)")
        prev, count = entry.hash, count + 1
    return Verdict(count)


async def verify(session: AsyncSession) -> bool:
    """Whether every entry links to its predecessor and hashes to what it says."""
    return (await inspect(session)).intact


async def _main(database_url: str) -> int:
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            verdict = await inspect(session)
    finally:
        await db.dispose()
    if verdict.intact:
        sys.stdout.write(f"audit log intact: {verdict.entries} entries\n")
        return 0
    sys.stdout.write(f"audit log BROKEN at entry {verdict.broken_at}: {verdict.reason} "
                     f"({verdict.entries} entries before it are intact)\n")
    return 1


def main(argv: list[str] | None = None) -> int:
    """`python -m suara_cases.audit verify [DATABASE_URL]`: exit 0 when the chain is intact,
    1 when an entry was edited or removed (the database from SUARA_CASES_DATABASE_URL, or
    case-management's SQLite file under var/, by default)."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] != "verify" or len(args) > 2:
        sys.stderr.write("usage: python -m suara_cases.audit verify [DATABASE_URL]\n")
        return 2
    url = args[1] if len(args) == 2 else CasesSettings().resolved_database_url()
    return asyncio.run(_main(url))


if __name__ == "__main__":
    sys.exit(main())
