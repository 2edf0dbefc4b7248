"""The case handlers' pages under /console/cases: the organisation's queue, and a case with its
conversation, assignment, status, coding, referral and history. Every read and every change is a
call to the services over NATS with the signed-in handler as the actor, exactly as the JSON API
makes it, so the services decide who may see and do what; a refusal comes back as a message on
the page (with what was typed kept), never as a 500. Forms post with the session's CSRF token
and answer with a redirect to the case page and a short confirmation (POST/redirect/GET)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, NoReturn
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import QueryParams

from suara_contracts.referrals import (
    CaseReferrals,
    CaseReferralsQuery,
    ConsentView,
    CreateReferral,
    DirectoryQuery,
    OrganisationList,
    RecordConsent,
    ReferralView,
)
from suara_contracts.rpc import (
    Actor,
    AssignCase,
    CaseDetail,
    CaseHistory,
    CaseHistoryQuery,
    CaseList,
    CaseListQuery,
    CaseMessageView,
    CaseQuery,
    CaseSummary,
    CodeCase,
    FormDefinition,
    FormQuery,
    MessageReporter,
    TransitionCase,
)
from suara_contracts.subjects import Rpc as S
from suara_gateway.console.forms import Refusal, build, refusal, text, texts
from suara_gateway.console.i18n import N_
from suara_gateway.console.labels import RESPONDENT_KINDS, SHARE_PROFILES, Labels
from suara_gateway.console.render import render
from suara_gateway.console.session import (
    ConsoleInterrupt,
    ConsoleSession,
    require_console_role,
    unavailable,
)
from suara_gateway.deps import Rpc
from suara_kit.clock import today
from suara_kit.errors import NotFound, SuaraError

router = APIRouter(include_in_schema=False)
HandlerSession = Annotated[ConsoleSession, Depends(require_console_role("case-handler"))]
QUEUE = "/console/cases"
PAGE_SIZE = 50
MESSAGES_SHOWN = 20  # a page of the conversation, newest first: every page stays light
DONE = {
    "replied": N_("Your message is in the reporter's inbox."),
    "taken": N_("You took the case."), "assigned": N_("The case is handed to your colleague."),
    "moved": N_("The status is changed."), "coded": N_("The coding is saved."),
    "closed": N_("The case is coded and closed."),
    "consent": N_("The reporter's consent is recorded."),
    "referred": N_("The referral is sent: the organisation can now accept or reject it."),
}
REFUSED = {
    404: (N_("No such case"), N_("There is no case at this address in your organisation. It "
                                 "may belong to another organisation, or the link is wrong.")),
    403: (N_("You cannot open this case"), N_(
        "It is assigned to another handler, and only they can read and work on it. Ask them "
        "or your supervisor to hand it on if you should take it over.")),
    410: (N_("This case's content is deleted"), N_(
        "It was deleted at the end of its retention period; nobody can read it any more.")),
}
OTHER_REFUSAL = (N_("This did not work"), N_("Nothing was changed. Go back and try again."))


# ------------------------------------------------------------------------------------------
# the queue
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """The queue's filters, as the GET form sends them."""

    status: tuple[str, ...] = ()
    issue: str = ""
    origin: str = ""
    destination: str = ""
    assignee: str = ""  # "", "mine", "unassigned" or a colleague's account id
    risk: str = ""  # "" or "high"
    cursor: str = ""

    @classmethod
    def of(cls, params: QueryParams) -> Filters:
        def one(name: str) -> str:
            return (params.get(name) or "").strip()[:512]

        statuses = tuple(dict.fromkeys(s.strip() for s in params.getlist("status") if s.strip()))
        return cls(statuses[:10], one("issue"), one("origin"), one("destination"),
                   one("assignee"), one("risk"), one("cursor"))

    def query(self, actor: Actor) -> CaseListQuery:
        """The service's query (a refusal naming the field when a value is not valid)."""
        who = {"mine": "me", "unassigned": "nobody"}.get(self.assignee, self.assignee)
        return build(CaseListQuery, actor=actor, status=list(self.status),
                     issue=self.issue or None, origin=self.origin or None,
                     destination=self.destination or None, assigned_to=who or None,
                     risk=self.risk or None, limit=PAGE_SIZE, cursor=self.cursor or None)

    def url(self, cursor: str | None = None) -> str:
        """The queue's address with these filters (and a page's cursor)."""
        pairs = [("status", s) for s in self.status] + [
            (name, value) for name, value in (
                ("issue", self.issue), ("origin", self.origin),
                ("destination", self.destination), ("assignee", self.assignee),
                ("risk", self.risk)) if value]
        pairs += [("cursor", cursor)] if cursor else []
        return QUEUE + ("?" + urlencode(pairs) if pairs else "")

    @property
    def active(self) -> bool:
        return self.url() != QUEUE


@router.get(QUEUE)
async def queue(request: Request, session: HandlerSession) -> HTMLResponse:
    """The organisation's cases, high risk first, then the nearest deadline
    owed to the reporter."""
    filters, rpc = Filters.of(request.query_params), rpc_of(request)
    form = asyncio.create_task(current_form(rpc, session))
    items: list[CaseSummary] = []
    next_cursor, problem = None, None
    try:
        listed = await rpc(S.CASES_LIST, filters.query(session.actor), CaseList)
        items, next_cursor = listed.items, listed.next_cursor
    except SuaraError as exc:
        if exc.status != 422:
            form.cancel()
            stop(request, session, exc)
        problem = refusal("filters", exc, {}, {"status", "issue", "origin", "destination",
                                                "assignee", "risk", "cursor"})
    labels = Labels(session.language, session.principal.subject, await form)
    return render(request, "cases.html", session.language,
                  status=422 if problem else 200, session=session, labels=labels,
                  filters=filters, items=items, today=today(), problem=problem,
                  next_url=filters.url(next_cursor) if next_cursor else None,
                  statuses=STATUS_ORDER,
                  notice=DONE.get(request.query_params.get("done") or ""))


STATUS_ORDER = ("received", "acknowledged", "in-assessment", "referred", "in-mediation",
                "in-resolution", "resolved", "not-upheld", "withdrawn", "closed")


# ------------------------------------------------------------------------------------------
# a case
# ------------------------------------------------------------------------------------------
@dataclass
class CaseView:
    """Everything the case page shows, as the services gave it."""

    case: CaseDetail
    history: CaseHistory
    referrals: CaseReferrals
    directory: OrganisationList
    labels: Labels

    @property
    def answers(self) -> list[tuple[str, list[str] | None]]:
        """(question, answer lines) in the form's order; None for an answer sealed away."""
        case, labels = self.case, self.labels
        order = list(labels.fields) + sorted(set(case.answers) | set(case.sealed_identity))
        rows: list[tuple[str, list[str] | None]] = []
        for name in dict.fromkeys(order):
            if name in case.answers:
                rows.append((labels.question(name), labels.answer(name, case.answers[name])))
            elif name in case.sealed_identity:
                rows.append((labels.question(name), None))
        return rows

    @property
    def moves(self) -> list[str]:
        """The statuses the status form offers (closing goes through the coding form)."""
        return [s for s in self.case.allowed_transitions if s != "closed"]

    @property
    def active_consents(self) -> list[ConsentView]:
        return [c for c in self.referrals.consents if c.withdrawn_on is None]

    @property
    def partners(self) -> list[tuple[str, str]]:
        """Other member organisations: (id, name)."""
        own = self.case.organisation
        return [(o.id, o.name) for o in self.directory.items if o.id != own]

    @property
    def referral_targets(self) -> list[tuple[str, str]]:
        """The organisations a consent on record covers: only to them may the page refer."""
        covered = {c.to_organisation for c in self.active_consents}
        return [(id_, name) for id_, name in self.partners if {id_, "any"} & covered]

    def organisation(self, slug: str) -> str:
        if slug == "any":
            return self.labels.t(N_("any member organisation"))
        return next((o.name for o in self.directory.items if o.id == slug), slug)

    def consent_of(self, referral: ReferralView) -> ConsentView | None:
        return next((c for c in self.referrals.consents if c.consent_id == referral.consent_id),
                    None)

    @property
    def reporter_messages(self) -> list[CaseMessageView]:
        return [m for m in self.case.messages if m.from_reporter]


def rpc_of(request: Request) -> Rpc:
    return request.app.state.rpc  # type: ignore[no-any-return]


async def current_form(rpc: Rpc, session: ConsoleSession) -> FormDefinition | None:
    """The current intake form in the staff language, for the names of questions, issues
    and countries; None when intake does not answer (the page then shows codes)."""
    try:
        return await rpc(S.INTAKE_FORM, FormQuery(language=session.language.code),
                         FormDefinition)
    except SuaraError:
        return None


def stop(request: Request, session: ConsoleSession, exc: SuaraError) -> NoReturn:
    """Answer with a page that says why the services refused (or cannot be reached)."""
    if exc.status >= 500:
        raise unavailable(request, session.language) if exc.status == 503 else exc
    title, said = REFUSED.get(exc.status, OTHER_REFUSAL)
    raise ConsoleInterrupt(render(
        request, "case_refused.html", session.language, status=exc.status, session=session,
        title=title, text=said, detail=exc.detail))


def case_id_of(request: Request, session: ConsoleSession, value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        stop(request, session, NotFound("not a case id"))


async def load(request: Request, session: ConsoleSession, case_id: UUID) -> CaseView:
    """The case (its read audited by case-management) and what goes with it."""
    rpc, actor = rpc_of(request), session.actor
    form = asyncio.create_task(current_form(rpc, session))
    try:
        case = await rpc(S.CASES_GET, CaseQuery(actor=actor, case_id=case_id), CaseDetail)
        history, referrals, directory = await asyncio.gather(
            rpc(S.CASES_HISTORY, CaseHistoryQuery(actor=actor, case_id=case_id), CaseHistory),
            rpc(S.CASES_REFERRAL_OF_CASE, CaseReferralsQuery(actor=actor, case_id=case_id),
                CaseReferrals),
            rpc(S.CASES_REFERRAL_DIRECTORY, DirectoryQuery(actor=actor), OrganisationList))
    except SuaraError as exc:
        form.cancel()
        stop(request, session, exc)
    return CaseView(case, history, referrals, directory,
                    Labels(session.language, session.principal.subject, await form))


async def case_page(request: Request, session: ConsoleSession, case_id: UUID, *,
                    problem: Refusal | None = None, status: int = 200) -> HTMLResponse:
    view = await load(request, session, case_id)
    done = request.query_params.get("done") if problem is None else None
    every = view.case.messages
    skipped = min(_count(request.query_params.get("older")), max(len(every) - 1, 0))
    messages = every[max(len(every) - skipped - MESSAGES_SHOWN, 0):len(every) - skipped]
    return render(request, "case.html", session.language, status=status, session=session,
                  view=view, case=view.case, labels=view.labels, today=today(),
                  problem=problem, notice=DONE.get(done or ""), messages=messages,
                  older=skipped + MESSAGES_SHOWN if len(every) > skipped + len(messages) else None,
                  newer=max(skipped - MESSAGES_SHOWN, 0) if skipped else None,
                  respondent_kinds=RESPONDENT_KINDS, share_profiles=SHARE_PROFILES)


def _count(value: str | None) -> int:
    """A non-negative number from the address, 0 when it is not one."""
    return int(value) if value and value.isdigit() and len(value) < 7 else 0


@router.get(QUEUE + "/{case_id}")
async def show_case(request: Request, case_id: str, session: HandlerSession) -> HTMLResponse:
    """One case, as far as the handler's role and assignment allow."""
    return await case_page(request, session, case_id_of(request, session, case_id))


# ------------------------------------------------------------------------------------------
# forms on the case page
# ------------------------------------------------------------------------------------------
Work = Callable[[], Awaitable[Any]]


async def act(request: Request, session: ConsoleSession, case_id: UUID, form: str,
              values: dict[str, Any], work: Work, done: str, anchor: str,
              to_queue: bool = False) -> Response:
    """Do `work`; then back to the case (or the queue) with a confirmation, or the page again
    with the refusal tied to its fields and what was typed kept."""
    try:
        await work()
    except SuaraError as exc:
        if exc.status == 404 or exc.status >= 500:
            stop(request, session, exc)
        problem = refusal(form, exc, values, set(values))
        return await case_page(request, session, case_id, problem=problem, status=exc.status)
    target = f"{QUEUE}?done={done}" if to_queue else f"{QUEUE}/{case_id}?done={done}#{anchor}"
    return RedirectResponse(target, status_code=303)


@router.post(QUEUE + "/{case_id}/reply")
async def reply(request: Request, case_id: str, session: HandlerSession) -> Response:
    """Write to the reporter's receipt-protected inbox."""
    ident, form = case_id_of(request, session, case_id), await request.form()
    values = {"body": text(form, "body")}

    async def work() -> None:
        command = build(MessageReporter, actor=session.actor, case_id=ident,
                        body=values["body"])
        await rpc_of(request)(S.CASES_MESSAGE, command, CaseMessageView)

    return await act(request, session, ident, "reply", values, work, "replied", "conversation")


@router.post(QUEUE + "/{case_id}/assign")
async def assign(request: Request, case_id: str, session: HandlerSession) -> Response:
    """Take the case, or hand it to a colleague by account id."""
    ident, form = case_id_of(request, session, case_id), await request.form()
    values = {"handler": text(form, "handler")}

    async def work() -> None:
        command = build(AssignCase, actor=session.actor, case_id=ident,
                        handler=values["handler"] or None)
        await rpc_of(request)(S.CASES_ASSIGN, command, CaseSummary)

    handed_on = values["handler"] not in ("", session.principal.subject)
    return await act(request, session, ident, "assign", values, work,
                     "assigned" if handed_on else "taken", "assignment",
                     to_queue=handed_on)  # a colleague's case is no longer the handler's to read


@router.post(QUEUE + "/{case_id}/status")
async def move(request: Request, case_id: str, session: HandlerSession) -> Response:
    """Move the case along its lifecycle (case-management says which moves are allowed)."""
    ident, form = case_id_of(request, session, case_id), await request.form()
    values = {"to": text(form, "to"), "reason": text(form, "reason"),
              "message": text(form, "message")}

    async def work() -> None:
        command = build(TransitionCase, actor=session.actor, case_id=ident, to=values["to"],
                        reason=values["reason"], message=values["message"] or None)
        await rpc_of(request)(S.CASES_TRANSITION, command, CaseDetail)

    return await act(request, session, ident, "status", values, work, "moved", "status")


@router.post(QUEUE + "/{case_id}/coding")
async def code(request: Request, case_id: str, session: HandlerSession) -> Response:
    """Save the coding; with `then=close`, close the case too (closing needs the coding)."""
    ident, form = case_id_of(request, session, case_id), await request.form()
    values: dict[str, Any] = {
        "issues": texts(form, "issues"), "origin": text(form, "origin"),
        "destination": text(form, "destination"), "respondent": text(form, "respondent"),
        "respondent_kind": text(form, "respondent_kind")}
    closing = text(form, "then") == "close"

    async def work() -> None:
        rpc = rpc_of(request)
        coding = build(CodeCase, actor=session.actor, case_id=ident, **values)
        await rpc(S.CASES_CODE, coding, CaseDetail)
        if closing:
            await rpc(S.CASES_TRANSITION, TransitionCase(
                actor=session.actor, case_id=ident, to="closed"), CaseDetail)

    done = "closed" if closing else "coded"
    return await act(request, session, ident, "coding", values, work, done, "coding")


@router.post(QUEUE + "/{case_id}/consents")
async def record_consent(request: Request, case_id: str, session: HandlerSession) -> Response:
    """Record the reporter's consent to share their case."""
    ident, form = case_id_of(request, session, case_id), await request.form()
    values: dict[str, Any] = {
        "to_organisation": text(form, "to_organisation"),
        "share_profile": text(form, "share_profile"), "types": texts(form, "types"),
        "obtained": text(form, "obtained"), "message_id": text(form, "message_id")}

    async def work() -> None:
        command = build(RecordConsent, actor=session.actor, case_id=ident,
                        **(values | {"message_id": values["message_id"] or None}))
        await rpc_of(request)(S.CASES_REFERRAL_CONSENT, command, ConsentView)

    return await act(request, session, ident, "consent", values, work, "consent", "referral")


@router.post(QUEUE + "/{case_id}/referrals")
async def refer(request: Request, case_id: str, session: HandlerSession) -> Response:
    """Refer or transfer the case to a partner. Case-management checks the reporter's
    consent; the console never sends an override."""
    ident, form = case_id_of(request, session, case_id), await request.form()
    values = {"to_organisation": text(form, "to_organisation"), "type": text(form, "type"),
              "share_profile": text(form, "share_profile"), "note": text(form, "note")}

    async def work() -> None:
        command = build(CreateReferral, actor=session.actor, case_id=ident, **values)
        await rpc_of(request)(S.CASES_REFERRAL_CREATE, command, ReferralView)

    return await act(request, session, ident, "referral", values, work, "referred", "referral")
