"""Group commit: units of work that arrive together share one transaction.

A report filed alone costs a BEGIN, an INSERT per table, a COMMIT (and on PostgreSQL a WAL
flush) and their round trips, each a system call that is dear on a VM. Reports that arrive
while another group is committing stage their rows in the next group's session, one after the
other, and commit together: one INSERT per table for all of them (SQLAlchemy sends the rows of
a table as one statement) and one COMMIT. At low load a group has one member and costs what a
transaction alone costs, plus a task switch.

What a member sees is what it would see alone:
- its work's result once the group has committed, never before;
- its own exception when its work fails before the commit (its staged rows are taken out of
  the session, or, when that cannot be done cleanly, the others run alone);
- when the commit fails (a constraint, the database away before committing), every member's
  work runs again alone, in a transaction of its own, and each gets its own outcome; a rule
  that raises `IntegrityError` alone (a reference drawn twice) raises it to its own caller;
- `CommitInDoubt` when the database went away during the commit itself: whether the group
  committed is unknown, and running the work again could file a report twice.

The work must be safe to run twice (it is run again alone when the group fails): it stages
rows and computes its reply, nothing outside the transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_kit.db import CommitInDoubt, Database

log = logging.getLogger("suara.groupcommit")
T = TypeVar("T")
Work = Callable[[AsyncSession], Awaitable[T]]

MAX_MEMBERS = 64


@dataclass(eq=False)
class _Group:
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    settled: asyncio.Event = field(default_factory=asyncio.Event)  # every joiner staged or left
    done: asyncio.Future[BaseException | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())
    session: AsyncSession | None = None
    joined: int = 0  # members that have not yet staged or left
    staged: int = 0
    sealed: bool = False
    broken: bool = False  # the session cannot be trusted: members run alone
    flushes: int = 0

    def leave(self) -> None:
        self.joined -= 1
        if self.joined == 0:
            self.settled.set()


class GroupCommit:
    """Runs `work(session)` in a transaction shared with the work that arrives with it."""

    def __init__(self, db: Database, *, after_commit: Callable[[], None] | None = None,
                 max_members: int = MAX_MEMBERS) -> None:
        self.db, self.after_commit, self.max_members = db, after_commit, max_members
        self._open: _Group | None = None  # the group new work joins
        self._committing = asyncio.Lock()  # one group commits at a time; the next one fills
        self._tasks: set[asyncio.Task[None]] = set()
        self.groups = 0  # committed groups and their members, for tests and benchmarks
        self.members = 0

    async def run(self, work: Work[T]) -> T:
        group = self._join()
        staged = False
        try:
            await group.ready.wait()
            async with group.turn:
                if not group.broken and group.session is not None:
                    staged = True  # from here its outcome is the group's
                    result = await self._stage(group, work)
        finally:
            group.leave()  # staged, failed, cancelled or turned away: once, in every case
        if staged:
            outcome = await asyncio.shield(group.done)
            if outcome is None:
                return result  # type: ignore[no-any-return]
            if isinstance(outcome, CommitInDoubt):
                raise CommitInDoubt from outcome
        return await self._alone(work)

    def _join(self) -> _Group:
        group = self._open
        if group is None or group.sealed:
            group = self._open = _Group()
            task = asyncio.create_task(self._commit_when_ready(group))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        group.joined += 1
        group.settled.clear()
        if group.joined + group.staged >= self.max_members:
            group.sealed = True  # full: the next work starts the next group
        return group

    async def _stage(self, group: _Group, work: Work[T]) -> T | None:
        """Run a member's work in the group's session; its own exception when it fails
        cleanly, its staged rows taken out; None when the session failed (the group then
        rolls back and every member runs alone)."""
        session = group.session
        assert session is not None
        new, dirty, deleted = _ids(session.new), _ids(session.dirty), _ids(session.deleted)
        flushes = group.flushes
        try:
            result = await work(session)
        except SQLAlchemyError:
            group.broken = True  # the transaction may be unusable: everyone runs alone
            return None
        except BaseException:
            if (group.flushes != flushes or _ids(session.dirty) != dirty
                    or _ids(session.deleted) != deleted):
                group.broken = True  # what it wrote cannot be taken back alone
            else:
                for obj in [o for o in session.new if id(o) not in new]:
                    session.expunge(obj)
            raise
        group.staged += 1
        return result

    async def _commit_when_ready(self, group: _Group) -> None:
        """Open the group's transaction; when the group before has committed, close this one
        to newcomers, wait for its members to stage, and commit (or roll back)."""
        outcome: BaseException | None = CommitInDoubt("the group's task was cancelled")
        locked = False
        try:
            async with self.db.transaction() as session:
                group.session = session
                event.listen(session.sync_session, "after_flush", lambda *_: _count(group))
                group.ready.set()
                await self._committing.acquire()  # released once this group has committed:
                locked = True  # meanwhile, what arrives fills the next group
                self._seal(group)
                await group.settled.wait()
                async with group.turn:
                    if group.broken or not group.staged:
                        raise _RollBack
            outcome = None
            self.groups += 1
            self.members += group.staged
            if self.after_commit:
                self.after_commit()
        except _RollBack as exc:
            outcome = exc
        except CommitInDoubt as exc:
            outcome = exc
        except Exception as exc:  # a constraint, the database away: members run alone
            log.info("a group of %d could not commit (%s): each runs alone", group.staged,
                     type(exc).__name__)
            outcome = exc
        finally:  # cancelled (the service stops): whether it committed is not known
            if locked:
                self._committing.release()
            self._seal(group)
            group.broken = group.broken or outcome is not None
            group.ready.set()  # members still waiting find it broken and run alone
            if not group.done.done():
                group.done.set_result(outcome)

    def _seal(self, group: _Group) -> None:
        group.sealed = True
        if self._open is group:
            self._open = None

    async def _alone(self, work: Work[T]) -> T:
        async with self.db.transaction() as session:
            result = await work(session)
        if self.after_commit:
            self.after_commit()
        return result


class _RollBack(Exception):
    """The group has nothing to commit (or must not): roll its transaction back."""


def _ids(objects: Iterable[object]) -> set[int]:
    """The identities of session objects (models compare by value and do not hash)."""
    return {id(o) for o in objects}


def _count(group: _Group) -> None:
    group.flushes += 1
