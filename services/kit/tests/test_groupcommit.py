"""Group commit: work that arrives together commits together, and each member still gets what
it would have got alone (its result, its own error, a run alone when the group fails, and
'in doubt' when the commit itself was cut off)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_kit.db import CommitInDoubt, Database
from suara_kit.errors import ValidationFailed
from suara_kit.groupcommit import GroupCommit


class _Metadata(SQLModel):
    metadata = SQLModel.metadata.__class__()


class Filed(_Metadata, table=True):
    __tablename__ = "filed"

    id: int = Field(primary_key=True)
    reference: str = Field(unique=True, max_length=20)


@pytest.fixture
async def db(database_url: Callable[..., str]) -> AsyncIterator[Database]:
    database = Database(database_url("groupcommit", empty=True))
    async with database.engine.begin() as conn:
        await conn.run_sync(Filed.metadata.create_all)
    yield database
    await database.dispose()


async def stored(db: Database) -> list[tuple[int, str]]:
    async with db.transaction() as session:
        rows = await session.exec(select(Filed).order_by(col(Filed.id)))
        return [(r.id, r.reference) for r in rows]


def filing(i: int, reference: str | None = None) -> Callable[[AsyncSession], object]:
    async def work(session: AsyncSession) -> str:
        session.add(Filed(id=i, reference=reference or f"R-{i}"))
        return f"receipt-{i}"
    return work


async def test_work_arriving_together_commits_together_and_each_gets_its_result(
        db: Database) -> None:
    woken: list[int] = []
    group = GroupCommit(db, after_commit=lambda: woken.append(1))
    results = await asyncio.gather(*(group.run(filing(i)) for i in range(40)))
    assert results == [f"receipt-{i}" for i in range(40)]
    assert await stored(db) == [(i, f"R-{i}") for i in range(40)]
    assert group.members == 40
    assert group.groups < 10, "40 at once should share a few transactions, not 40"
    assert len(woken) == group.groups  # the relay is woken after each commit

    assert await group.run(filing(99)) == "receipt-99"  # alone, later: a group of one
    assert (await stored(db))[-1] == (99, "R-99")


async def test_a_member_that_fails_takes_only_its_own_rows_out(db: Database) -> None:
    group = GroupCommit(db)

    async def refused(session: AsyncSession) -> str:
        session.add(Filed(id=1000, reference="R-REFUSED"))
        raise ValidationFailed("answers: what_happened is required")

    outcomes = await asyncio.gather(group.run(filing(1)),
                                    group.run(refused), group.run(filing(2)),
                                    return_exceptions=True)
    assert (outcomes[0], outcomes[2]) == ("receipt-1", "receipt-2")
    assert isinstance(outcomes[1], ValidationFailed)
    assert await stored(db) == [(1, "R-1"), (2, "R-2")]
    assert group.members == 2


async def test_when_the_group_cannot_commit_each_member_runs_alone_with_its_own_outcome(
        db: Database) -> None:
    """Two members drew the same reference: the group's commit fails on the constraint; run
    alone, the first is kept and the second hears the IntegrityError (which intake answers
    by drawing a new reference), and nobody else notices."""
    group = GroupCommit(db)
    runs: list[int] = []

    def counted(i: int, reference: str) -> Callable[[AsyncSession], object]:
        inner = filing(i, reference)

        async def work(session: AsyncSession) -> object:
            runs.append(i)
            return await inner(session)
        return work

    outcomes = await asyncio.gather(
        group.run(counted(1, "R-1")), group.run(counted(2, "R-SAME")),
        group.run(counted(3, "R-3")), group.run(counted(4, "R-SAME")),
        return_exceptions=True)
    assert (outcomes[0], outcomes[2]) == ("receipt-1", "receipt-3")
    assert {type(o) for o in (outcomes[1], outcomes[3])} == {str, IntegrityError}
    kept = await stored(db)
    assert [ref for _, ref in kept].count("R-SAME") == 1
    assert {1, 3} <= {i for i, _ in kept}
    assert sorted(runs) == [1, 1, 2, 2, 3, 3, 4, 4]  # each ran in the group, then alone


async def test_a_commit_cut_off_leaves_every_member_in_doubt_and_nothing_runs_again(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    group = GroupCommit(db)
    runs: list[int] = []
    original = AsyncSession.commit

    async def cut_off(self: AsyncSession) -> None:
        raise ConnectionResetError("the database went away during COMMIT")

    def counted(i: int) -> Callable[[AsyncSession], object]:
        inner = filing(i)

        async def work(session: AsyncSession) -> object:
            runs.append(i)
            return await inner(session)
        return work

    monkeypatch.setattr(AsyncSession, "commit", cut_off)
    outcomes = await asyncio.gather(*(group.run(counted(i)) for i in range(3)),
                                    return_exceptions=True)
    monkeypatch.setattr(AsyncSession, "commit", original)
    assert all(isinstance(o, CommitInDoubt) for o in outcomes), outcomes
    assert sorted(runs) == [0, 1, 2]  # not run again: it may have been saved
    assert await stored(db) == []  # (here it was not)


async def test_a_member_cancelled_before_its_turn_does_not_hold_up_the_group(
        db: Database) -> None:
    group = GroupCommit(db)
    gate = asyncio.Event()

    async def slow(session: AsyncSession) -> str:
        session.add(Filed(id=1, reference="R-1"))
        await gate.wait()
        return "receipt-1"

    await group._committing.acquire()  # another group is committing: this one stays open
    first = asyncio.create_task(group.run(slow))
    await asyncio.sleep(0.05)  # first holds the turn
    second = asyncio.create_task(group.run(filing(2)))
    third = asyncio.create_task(group.run(filing(3)))
    await asyncio.sleep(0.05)  # both wait for their turn in the same group
    second.cancel()
    gate.set()
    group._committing.release()
    assert await asyncio.wait_for(first, 10) == "receipt-1"
    assert await asyncio.wait_for(third, 10) == "receipt-3"
    with pytest.raises(asyncio.CancelledError):
        await second
    assert await stored(db) == [(1, "R-1"), (3, "R-3")]
    assert (group.groups, group.members) == (1, 2)


async def test_a_database_away_before_the_commit_is_a_plain_failure_for_each(
        tmp_path: object) -> None:
    """Nothing was sent, so nothing is in doubt: each member hears the ordinary failure
    (the service answers 503 'try again'), after trying alone."""
    db = Database("postgresql+asyncpg://postgres@127.0.0.1:9/nowhere")
    group = GroupCommit(db)
    try:
        outcomes = await asyncio.gather(*(group.run(filing(i)) for i in range(3)),
                                        return_exceptions=True)
    finally:
        await db.dispose()
    assert len(outcomes) == 3
    assert all(isinstance(o, Exception) and not isinstance(o, CommitInDoubt)
               for o in outcomes), outcomes
