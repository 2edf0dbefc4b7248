"""Form versions in intake's database: the default version 1, drafts, approval, and the
approved versions every report is checked against."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.rpc import Actor, FormSpec, FormVersion
from suara_intake import forms
from suara_intake.models import FormVersionRow
from suara_kit.clock import today
from suara_kit.db import Database
from suara_kit.errors import Conflict, Forbidden, NotFound

COMMITTEE = "worker-committee"
DEFAULT_BY = "suara (default form)"
DEFAULT_CONSULTATION = ("Default form shipped with Suara, built from the grievances that recur "
                        "in the field; replace it after consulting your workers")


def view(row: FormVersionRow, current: int | None) -> FormVersion:
    return FormVersion(version=row.number, status=row.status,  # type: ignore[arg-type]
                       current=row.number == current, spec=FormSpec.model_validate(row.spec),
                       note=row.note, based_on=row.based_on, drafted_by=row.drafted_by,
                       drafted_on=row.drafted_on, consultation_ref=row.consultation_ref,
                       approved_by=row.approved_by, approved_on=row.approved_on)


def is_committee(actor: Actor | None) -> bool:
    return actor is not None and COMMITTEE in actor.roles


def require_committee(actor: Actor) -> None:
    if not is_committee(actor):
        raise Forbidden(f"Editing the intake form needs the '{COMMITTEE}' role.")


class FormStore:
    """Approved versions are cached (they never change). The current number is read from the
    database at most once every `CURRENT_TTL` seconds (a query per report was a tenth of
    intake's round trips): an approval shows at once on the replica that made it and within
    that time on the others, and a report filed meanwhile is checked against the version
    before, which stays approved."""

    CURRENT_TTL = 1.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._approved: dict[int, FormSpec] = {}
        self._current: tuple[int, float] | None = None  # (number, read at)
        self._clock = clock

    async def ensure_default(self, db: Database) -> None:
        """Store the default form as approved version 1 on a new installation."""
        try:
            async with db.transaction() as session:
                if await session.get(FormVersionRow, 1) is not None:
                    return
                session.add(FormVersionRow(
                    number=1, status="approved",
                    spec=forms.default_spec().model_dump(mode="json"), drafted_by=DEFAULT_BY,
                    drafted_on=today(), consultation_ref=DEFAULT_CONSULTATION,
                    approved_by=DEFAULT_BY, approved_on=today(),
                    note="The default form: wages, fees and debt, documents, confinement, rest "
                         "days, abuse, safety, contract substitution, retaliation."))
        except IntegrityError:
            pass  # another replica, starting at the same moment, stored it first

    async def current_number(self, session: AsyncSession, fresh: bool = False) -> int:
        """The newest approved version (`fresh`: read now, not from the cache)."""
        now = self._clock()
        if not fresh and self._current and now - self._current[1] < self.CURRENT_TTL:
            return self._current[0]
        result = await session.exec(select(func.max(FormVersionRow.number))
                                    .where(FormVersionRow.status == "approved"))
        number = result.one()
        if number is None:
            raise NotFound("No intake form has been approved yet.")
        self._current = (int(number), now)
        return int(number)

    async def approved(self, session: AsyncSession,
                       version: int | None = None) -> tuple[int, FormSpec]:
        """An approved version (the current one by default) and its questions."""
        number = version or await self.current_number(session)
        if number not in self._approved:
            row = await session.get(FormVersionRow, number)
            if row is None or row.status != "approved":
                raise NotFound(f"There is no approved form version {number}.")
            self._approved[number] = FormSpec.model_validate(row.spec)
        return number, self._approved[number]

    async def listing(self, session: AsyncSession, actor: Actor | None) -> list[FormVersion]:
        """Every approved version, newest first; drafts too for the worker committee."""
        query = select(FormVersionRow).order_by(FormVersionRow.number.desc())  # type: ignore[attr-defined]
        if not is_committee(actor):
            query = query.where(FormVersionRow.status == "approved")
        rows = (await session.exec(query)).all()
        current = max((r.number for r in rows if r.status == "approved"), default=None)
        return [view(r, current) for r in rows]

    async def one(self, session: AsyncSession, version: int,
                  actor: Actor | None) -> FormVersion:
        row = await session.get(FormVersionRow, version)
        if row is None or (row.status == "draft" and not is_committee(actor)):
            raise NotFound(f"There is no form version {version}.")
        return view(row, await self.current_number(session))

    async def draft(self, session: AsyncSession, actor: Actor, spec: FormSpec, note: str,
                    version: int | None) -> FormVersion:
        """A new draft based on the current version, or new questions for an existing draft."""
        require_committee(actor)
        forms.check_draft(spec)
        current = await self.current_number(session, fresh=True)
        if version is not None:
            row = await session.get(FormVersionRow, version)
            if row is None:
                raise NotFound(f"There is no form version {version}.")
            if row.status != "draft":
                raise Conflict(f"Version {version} is approved and cannot change; draft a new "
                               "version instead.")
            row.spec, row.note = spec.model_dump(mode="json"), note or row.note
            row.drafted_by, row.drafted_on = actor.subject, today()
        else:
            last = (await session.exec(select(func.max(FormVersionRow.number)))).one() or 0
            row = FormVersionRow(number=int(last) + 1, status="draft",
                                 spec=spec.model_dump(mode="json"), note=note, based_on=current,
                                 drafted_by=actor.subject, drafted_on=today())
            session.add(row)
        await session.flush()
        return view(row, current)

    async def approve(self, session: AsyncSession, actor: Actor, version: int,
                      consultation_ref: str) -> FormVersion:
        """Approve a draft: every text must be in every language. It becomes current."""
        require_committee(actor)
        row = await session.get(FormVersionRow, version)
        if row is None:
            raise NotFound(f"There is no form version {version}.")
        if row.status != "draft":
            raise Conflict(f"Version {version} is already approved.")
        if row.number < await self.current_number(session, fresh=True):
            raise Conflict(f"Version {version} is older than the current form; draft a new "
                           "version from the current one.")
        spec = FormSpec.model_validate(row.spec)
        forms.check_approvable(spec)
        row.status, row.consultation_ref = "approved", consultation_ref.strip()
        row.approved_by, row.approved_on = actor.subject, today()
        await session.flush()
        self._current = None  # this replica reads the new number at once (after the commit)
        return view(row, row.number)
