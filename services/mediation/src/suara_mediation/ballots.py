"""The parties' vote on a session time: the mediator puts candidate slots (from a proposal
made with `vote: true`) to the vote, records each party's approval set (most sides have no
account: the mediator records what they said), and reads the tally of `slots.tally`.

A slot is chosen only when every party of the mediation accepts it: a party that has not voted
blocks the choice, so nobody is outvoted into a time they cannot attend. A party may change its
vote until the mediator closes the ballot."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.ballots import (
    BallotQuery,
    BallotView,
    CastVote,
    CreateBallot,
    TalliedCandidate,
)
from suara_contracts.rpc import Actor
from suara_kit.clock import utcnow
from suara_kit.errors import Conflict, NotFound
from suara_kit.ids import uuid7
from suara_mediation import mediations, slots
from suara_mediation.models import MediationParty, Resource
from suara_mediation.note_models import Ballot, BallotVote
from suara_mediation.resources import invalid

OPEN, CLOSED = "open", "closed"
NO_SUCH_BALLOT = "No such ballot in your organisation."


async def _ballot(session: AsyncSession, actor: Actor, ballot_id: UUID,
                  lock: bool = False) -> Ballot:
    organisation = mediations.require_mediator(actor)
    row = await session.get(Ballot, ballot_id, with_for_update=lock)
    if row is None or row.organisation != organisation:
        raise NotFound(NO_SUCH_BALLOT)
    return row


def _slot(index: int, candidate: dict) -> slots.Slot:
    """A stored candidate as the slot engine's tally reads it."""
    return slots.Slot(id=f"candidate {index}", start=datetime.fromisoformat(candidate["starts_at"]),
                      end=datetime.fromisoformat(candidate["ends_at"]),
                      mediator=candidate["resource_ids"][0], interpreters={}, venue=None,
                      local={}, discomfort=0, resources=len(candidate["resource_ids"]))


def _labels(parties: list[MediationParty]) -> dict[UUID, str]:
    """How the tally's reason names each party: by alias and role, never a name."""
    labels: dict[UUID, str] = {}
    for p in parties:
        label = f"{p.alias} ({p.role})"
        labels[p.id] = label if label not in labels.values() else f"{label} #{p.position + 1}"
    return labels


async def view(session: AsyncSession, ballot: Ballot) -> BallotView:
    """The ballot's tally: ranked candidates, who accepts each, and the choice or why none."""
    parties = await mediations.parties_of(session, ballot.mediation_id)
    labels = _labels(parties)
    votes = list(await session.exec(select(BallotVote).where(BallotVote.ballot_id == ballot.id)))
    candidates = [_slot(i, c) for i, c in enumerate(ballot.candidates)]
    tally = slots.tally(candidates, {labels[v.party_id]: v.accepts for v in votes},
                        parties=list(labels.values()))

    def ids(names: frozenset[str]) -> list[UUID]:
        return [p.id for p in parties if labels[p.id] in names]

    ranked = [TalliedCandidate(
        index=row.index, starts_at=row.slot.start, ends_at=row.slot.end,
        resource_ids=[UUID(r) for r in ballot.candidates[row.index]["resource_ids"]],
        accepted_by=ids(row.accepted_by), missing=ids(row.missing)) for row in tally.ranked]
    chosen = ranked[0].index if tally.chosen is not None else None
    return BallotView(ballot_id=ballot.id, mediation_id=ballot.mediation_id,
                      status=ballot.status,  # type: ignore[arg-type]
                      ranked=ranked, chosen=chosen, reason=tally.reason,
                      voted=[p.id for p in parties if p.id in {v.party_id for v in votes}],
                      created_at=ballot.created_at)


async def create(session: AsyncSession, command: CreateBallot) -> BallotView:
    """Put candidate slots of a mediation of the mediator's organisation to the vote."""
    mediation = await mediations.mediation_of(session, command.actor, command.mediation_id)
    wanted = {r for c in command.candidates for r in c.resource_ids}
    known = set(await session.exec(select(Resource.id).where(
        Resource.organisation == mediation.organisation, col(Resource.id).in_(wanted))))
    problems = [(f"candidates[{i}].ends_at", "must be after starts_at")
                for i, c in enumerate(command.candidates) if c.ends_at <= c.starts_at]
    problems += [(f"candidates[{i}].resource_ids", "not a resource of your organisation")
                 for i, c in enumerate(command.candidates) if set(c.resource_ids) - known]
    if problems:
        raise invalid(*problems)
    ballot = Ballot(id=uuid7(), mediation_id=mediation.id, organisation=mediation.organisation,
                    status=OPEN, created_by=command.actor.subject, created_at=utcnow(),
                    candidates=[{"starts_at": c.starts_at.isoformat(),
                                 "ends_at": c.ends_at.isoformat(),
                                 "resource_ids": [str(r) for r in c.resource_ids]}
                                for c in command.candidates])
    session.add(ballot)
    await session.flush()
    return await view(session, ballot)


async def vote(session: AsyncSession, command: CastVote) -> BallotView:
    """Record (or replace) one party's approval set while the ballot is open."""
    ballot = await _ballot(session, command.actor, command.ballot_id, lock=True)
    party = await session.get(MediationParty, command.party_id)
    problems: list[tuple[str, str]] = []
    if party is None or party.mediation_id != ballot.mediation_id:
        problems.append(("party_id", "not a party of this mediation"))
    problems += [(f"accepts[{i}]", f"no candidate {n} on this ballot (0 to "
                                   f"{len(ballot.candidates) - 1})")
                 for i, n in enumerate(command.accepts) if not 0 <= n < len(ballot.candidates)]
    if problems:
        raise invalid(*problems)
    if ballot.status != OPEN:
        raise Conflict("This ballot is closed: votes can no longer change.")
    row = await session.get(BallotVote, (ballot.id, command.party_id))
    row = row or BallotVote(ballot_id=ballot.id, party_id=command.party_id,
                            recorded_by="", updated_at=utcnow())
    row.accepts = sorted(set(command.accepts))
    row.recorded_by, row.updated_at = command.actor.subject, utcnow()
    session.add(row)
    await session.flush()
    return await view(session, ballot)


async def get(session: AsyncSession, query: BallotQuery) -> BallotView:
    return await view(session, await _ballot(session, query.actor, query.ballot_id))


async def close(session: AsyncSession, query: BallotQuery) -> BallotView:
    """Close the vote: votes no longer change; the tally stays readable."""
    ballot = await _ballot(session, query.actor, query.ballot_id, lock=True)
    if ballot.status != OPEN:
        raise Conflict("This ballot is closed already.")
    ballot.status, ballot.closed_at = CLOSED, utcnow()
    session.add(ballot)
    return await view(session, ballot)
