"""A case's history for its handler, read from the audit log: what happened, and who read it.
Days only, never times (staff see coarsened timestamps)."""

from __future__ import annotations

from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases import repository
from suara_cases.models import AuditEntry
from suara_cases.service import case_for
from suara_contracts.rpc import Actor, CaseHistory, HistoryEntry

READS = frozenset({"read", "referral-read", "identity-read", "liaison-read",
                   "liaison-shares-read", "liaison-list"})
LIMIT = 500  # entries of each kind; a case's page need not carry years of reads


def _runs(entries: list[AuditEntry]) -> list[HistoryEntry]:
    """One line per run of the same person doing the same on the same day."""
    lines: list[HistoryEntry] = []
    for entry in entries:
        day = entry.at.date()
        last = lines[-1] if lines else None
        if last and (last.on, last.actor, last.action) == (day, entry.actor, entry.action):
            last.count += 1
        else:
            lines.append(HistoryEntry(on=day, actor=entry.actor, action=entry.action))
    return lines


def _per_day(entries: list[AuditEntry]) -> list[HistoryEntry]:
    """One line per day, person and kind of read, in the order first met."""
    lines: dict[tuple[object, str, str], HistoryEntry] = {}
    for entry in entries:
        key = (entry.at.date(), entry.actor, entry.action)
        if key in lines:
            lines[key].count += 1
        else:
            lines[key] = HistoryEntry(on=entry.at.date(), actor=entry.actor,
                                      action=entry.action)
    return list(lines.values())


async def of_case(session: AsyncSession, actor: Actor, case_id: UUID) -> CaseHistory:
    """The case's events (oldest first) and reads (newest first), for whoever may read it.
    Not itself audited: it shows the log, not the case's content."""
    case = await case_for(session, actor, case_id)
    entries = await repository.audit_of(session, case.id)
    events = _runs([e for e in entries if e.action not in READS])
    reads = _per_day([e for e in reversed(entries) if e.action in READS])
    left_out = max(len(events) - LIMIT, 0) + max(len(reads) - LIMIT, 0)
    return CaseHistory(events=events[-LIMIT:], reads=reads[:LIMIT], left_out=left_out)
