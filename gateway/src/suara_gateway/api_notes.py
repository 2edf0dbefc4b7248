"""A mediation's session notes and the parties' vote on a session time, under /api/v1.

Notes are joint (every side may be shown them) or caucus (held with one side: only the
mediator and that side). Sides mostly have no account, so `?for_party=` returns what the
mediator may share with that side; without it, every note. A slot put to the vote is chosen
only when every party of the mediation accepts it."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from suara_contracts.ballots import (
    BallotBody,
    BallotQuery,
    BallotView,
    CastVote,
    CreateBallot,
    VoteBody,
)
from suara_contracts.notes import NoteBody, NoteList, NotesQuery, NoteView, WriteNote
from suara_contracts.subjects import Rpc as S
from suara_gateway.deps import MediatorDep, RpcDep
from suara_gateway.schemas import Public, problem_responses

router = APIRouter(prefix="/api/v1", tags=["mediator"], responses=problem_responses(422, 503))
STAFF = problem_responses(401, 403, 404)
WRITES = {**STAFF, **problem_responses(409, 410)}
ForParty = Annotated[UUID | None, Query(description=(
    "only what this party may be shown: the joint notes and its own caucus notes"))]


@router.post("/mediations/{mediation_id}/notes", status_code=201, responses=WRITES)
async def write_note(mediation_id: UUID, body: Public[NoteBody], actor: MediatorDep,
                     rpc: RpcDep) -> NoteView:
    """Write a joint note, or a caucus note naming the party it was held with."""
    command = WriteNote(actor=actor, mediation_id=mediation_id, **body.model_dump())
    return await rpc(S.MEDIATION_NOTE_WRITE, command, NoteView)


@router.get("/mediations/{mediation_id}/notes", responses=STAFF)
async def mediation_notes(mediation_id: UUID, actor: MediatorDep, rpc: RpcDep,
                          for_party: ForParty = None) -> NoteList:
    """Every note of a mediation, or (`for_party`) only what that side may be shown. A note
    of a case shredded at the end of its retention reads as deleted."""
    query = NotesQuery(actor=actor, mediation_id=mediation_id, for_party=for_party)
    return await rpc(S.MEDIATION_NOTES, query, NoteList)


@router.post("/mediations/{mediation_id}/ballots", status_code=201, responses=WRITES)
async def create_ballot(mediation_id: UUID, body: Public[BallotBody], actor: MediatorDep,
                        rpc: RpcDep) -> BallotView:
    """Put candidate slots (from a proposal made with `vote: true`) to the parties' vote."""
    command = CreateBallot(actor=actor, mediation_id=mediation_id, **body.model_dump())
    return await rpc(S.MEDIATION_BALLOT_CREATE, command, BallotView)


@router.post("/ballots/{ballot_id}/votes", responses=WRITES)
async def cast_vote(ballot_id: UUID, body: Public[VoteBody], actor: MediatorDep,
                    rpc: RpcDep) -> BallotView:
    """Record a party's approval set (for a side without an account, what they told the
    mediator); a new vote replaces the party's previous one until the ballot closes."""
    command = CastVote(actor=actor, ballot_id=ballot_id, **body.model_dump())
    return await rpc(S.MEDIATION_BALLOT_VOTE, command, BallotView)


@router.get("/ballots/{ballot_id}", responses=STAFF)
async def get_ballot(ballot_id: UUID, actor: MediatorDep, rpc: RpcDep) -> BallotView:
    """The tally: candidates ranked by acceptance, and the slot every party accepts, or why
    there is none yet (e.g. waiting for votes)."""
    return await rpc(S.MEDIATION_BALLOT_GET, BallotQuery(actor=actor, ballot_id=ballot_id),
                     BallotView)


@router.post("/ballots/{ballot_id}/close", responses=WRITES)
async def close_ballot(ballot_id: UUID, actor: MediatorDep, rpc: RpcDep) -> BallotView:
    """Close the vote: votes no longer change; the tally stays readable."""
    return await rpc(S.MEDIATION_BALLOT_CLOSE, BallotQuery(actor=actor, ballot_id=ballot_id),
                     BallotView)
