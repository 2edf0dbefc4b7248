"""Server-rendered pages for workers: no JavaScript, no cookies, no third-party resources."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, get_args
from uuid import UUID

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from suara_contracts.notifications import (
    ReporterContactQuery,
    ReporterContactView,
    ReporterLanguage,
    SetReporterContact,
)
from suara_contracts.rpc import (
    MAX_VERSION,
    SURVEY_QUESTIONS,
    Answer,
    AnswersChecked,
    ClaimReceipt,
    FollowUp,
    FollowUpKind,
    FollowUpSent,
    FormDefinition,
    FormField,
    FormQuery,
    Inbox,
    InboxQuery,
    RemedyQuery,
    RemedyRoute,
    RemedyRoutes,
    ReportStatus,
    SubmitReceipt,
    SubmitReport,
    SurveyAnswers,
    SurveyThanks,
)
from suara_contracts.subjects import Rpc as S
from suara_gateway import attach, i18n
from suara_gateway.api_notifications import _submission
from suara_gateway.deps import RpcDep
from suara_gateway.i18n import ENGLISH, LANGUAGES, Language
from suara_gateway.schemas import ReporterView
from suara_gateway.uploads import Refused
from suara_kit import staging
from suara_kit.clock import today
from suara_kit.errors import NotFound, SuaraError, ValidationFailed
from suara_kit.messaging import validation_problem

router = APIRouter(include_in_schema=False)


def N_(text: str) -> str:
    """Mark a string for the catalog without translating it here."""
    return text


STATUS_LABELS = {
    "received": N_("Received"), "acknowledged": N_("Acknowledged"),
    "in-assessment": N_("Being assessed"), "referred": N_("Passed to a partner organisation"),
    "in-mediation": N_("In mediation"), "in-resolution": N_("Being resolved"),
    "resolved": N_("Resolved"), "not-upheld": N_("Not upheld"), "withdrawn": N_("Withdrawn"),
    "closed": N_("Closed"),
}


def _render(request: Request, name: str, language: Language, prefix: str, status: int = 200,
            **context: Any) -> HTMLResponse:
    """A page in the request's language; `prefix` is what its links and forms start with."""
    template = i18n.environment(language).get_template(name)
    html = template.render(request=request, language=language, prefix=prefix, **context)
    return HTMLResponse(html, status_code=status)


def not_found(request: Request) -> HTMLResponse:
    """A 404 page (in English, with the language list) for a language Suara does not offer."""
    return _render(request, "not_found.html", ENGLISH, "", status=404, languages=LANGUAGES)


i18n.load_all()  # a broken catalog fails at start-up, not on a worker's page


CSS_VALUE = re.compile(r"^[A-Za-z0-9_-]+$")


ERROR_MESSAGES = {
    "required": N_("This question needs an answer."),
    "not-an-organisation": N_("Choose one of the organisations."),
    "choose-one": N_("Choose one of the options."),
    "choose-some": N_("Choose one or more of the options."),
    "not-an-option": N_("Choose from the options shown."),
    "not-text": N_("Write your answer as text."),
    "too-long": N_("Write at most %(maximum)s characters."),
    "not-a-date": N_("Enter a date, for example 2026-03-01."),
    "date-in-future": N_("This date is in the future."),
    "date-too-early": N_("This date is too long ago."),
    "not-a-number": N_("Enter a number, for example 1500."),
    "too-small": N_("Enter at least %(minimum)s."),
    "too-big": N_("Enter at most %(maximum)s."),
    "not-money": N_("Enter an amount and choose a currency."),
    "not-a-currency": N_("Choose one of the currencies."),
    "not-files": N_("Attach the file again."),
    "too-many-files": N_("Attach at most %(maximum)s files."),
    "expired": N_("A file you attached earlier has expired. Attach it again."),
}
UPLOAD_MESSAGES = {
    "empty": N_("This file is empty. Choose the file again."),
    "too-large": N_("This file is too big. Send a file under %(limit)s."),
    "not-allowed": N_("This kind of file cannot be sent. Send a photo or a PDF."),
    "unreadable": N_("This file is damaged and cannot be opened. Send it again, or take a new "
                     "photo."),
    "too-many-pixels": N_("This picture is too large to open. Take a new photo, or send a "
                          "screenshot of it."),
    "encrypted-pdf": N_("This PDF is locked with a password. Send a copy without a password, or "
                        "photos of the pages."),
    "too-many-files": N_("You can send at most %(limit)s files."),
}


def error_message(error: dict[str, Any], language: Language) -> str:
    """One field's problem in the worker's language (the English message for a new code)."""
    template = ERROR_MESSAGES.get(str(error.get("code")))
    if template is None:
        return str(error.get("message", ""))
    text = i18n.translations(language).gettext(template)
    return text % {k: error.get(k, "") for k in ("maximum", "minimum")} if "%(" in text else text


def refusal_message(refused: Refused, language: Language) -> str:
    text = i18n.translations(language).gettext(UPLOAD_MESSAGES[refused.code])
    return text % {"limit": refused.limit or ""} if "%(" in text else text


def field_errors(exc: SuaraError, language: Language) -> dict[str, str]:
    """Messages per form field, in the worker's language, to show next to each question."""
    return {e["field"].removeprefix("answers."): error_message(e, language)
            for e in exc.extra.get("errors", []) if isinstance(e, dict)}


def conditions(definition: FormDefinition) -> dict[str, str]:
    """For each conditional question, the answers that ask it, as the worker reads them."""
    by_name = {f.name: f for f in definition.fields}
    found = {}
    for f in definition.fields:
        if f.show_if and (parent := by_name.get(f.show_if.field)):
            found[f.name] = ", ".join(c.label for c in parent.choices
                                      if c.value in f.show_if.any_of)
    return found


def form_css(definition: FormDefinition) -> str:
    """Hide a conditional question until an answer that asks it is chosen, with CSS `:has()`
    (no script). A browser without `:has()` ignores the rule and shows every question, each
    conditional one saying when to answer it."""
    rules = []
    for f in definition.fields:
        if f.show_if is None or not CSS_VALUE.match(f.show_if.field):
            continue
        checked = ", ".join(f'input[name="{f.show_if.field}"][value="{v}"]:checked'
                            for v in f.show_if.any_of if CSS_VALUE.match(v))
        if checked and CSS_VALUE.match(f.name):
            rules.append(f"form:not(:has({checked})) #q-{f.name}{{display:none}}")
            rules.append(f"form:has({checked}) #{f.name}-when{{display:none}}")
    return "\n".join(rules) + "\n"


def money(value: Answer | None) -> tuple[str, str]:
    """An answer such as '1500 MYR' as (amount, currency) for the form's two inputs."""
    if isinstance(value, str) and " " in value:
        amount, currency = value.rsplit(" ", 1)
        return amount, currency
    return (value if isinstance(value, str) else ""), ""


def upload_description(staged: staging.Staged, language: Language) -> str:
    """'Photo, 230 KB': never the file's own name, which can say who took it."""
    gettext = i18n.translations(language).gettext
    size = format_decimal(max(1, round(staged.size / 1024)), locale=language.locale)
    if staged.media_type == "application/pdf":
        return gettext("PDF document, %(size)s KB") % {"size": size}
    return gettext("Photo, %(size)s KB") % {"size": size}


@dataclass
class Posted:
    """A posted report form: its version, the answers, the files kept, what was refused."""

    definition: FormDefinition
    answers: dict[str, Answer]
    organisation: str
    uploads: dict[str, list[staging.Staged]] = dataclass_field(default_factory=dict)
    errors: dict[str, str] = dataclass_field(default_factory=dict)


async def _form(rpc: RpcDep, language: Language, version: int | None = None) -> FormDefinition:
    return await rpc(S.INTAKE_FORM, FormQuery(language=language.code, version=version),
                     FormDefinition)


async def _files(request: Request, form: FormData, field: FormField, language: Language,
                 posted: Posted) -> None:
    """Files of one question: tokens kept from an earlier step, and new files, cleaned."""
    store = attach.store_of(request)
    kept, problems = [], []
    for token in [str(v) for v in form.getlist(field.name) if isinstance(v, str)]:
        try:
            kept.append(await staging.describe(store, token))
        except SuaraError:
            problems.append(error_message({"code": "expired"}, language))
    files = [v for v in form.getlist(field.name) if attach.is_file(v)]
    staged, refused = await attach.stage_all(store, files)  # type: ignore[arg-type]
    kept += staged
    problems += [refusal_message(r, language) for r in refused]
    if len(kept) > attach.LIMITS.max_files:
        kept = kept[:attach.LIMITS.max_files]
        problems.append(refusal_message(Refused("too-many-files", str(len(kept))), language))
    if kept:
        posted.uploads[field.name] = kept
        posted.answers[field.name] = [s.token for s in kept]
    if problems:
        posted.errors[field.name] = " ".join(problems)


async def _posted(request: Request, rpc: RpcDep, language: Language) -> Posted:
    """The form version, answers and organisation the worker posted, with files cleaned and
    staged; a refused file is an error by its question, and every other answer is kept."""
    attach.refuse_oversized(request)
    form = await request.form()
    version = str(form.get("form_version", ""))
    try:
        number = int(version) if version.isdecimal() and version.isascii() else 0
        definition = await _form(rpc, language,
                                 number if 1 <= number <= MAX_VERSION else None)
    except NotFound:  # a page from a version that is gone: the current form
        definition = await _form(rpc, language)
    posted = Posted(definition, {}, str(form.get("organisation", "")))
    for field in definition.fields:
        if field.kind == "multiple-choice":
            values = [str(v) for v in form.getlist(field.name) if isinstance(v, str)]
            if values:
                posted.answers[field.name] = values
        elif field.kind == "file":
            await _files(request, form, field, language, posted)
        elif (value := str(form.get(field.name, "")).strip()):
            currency = str(form.get(f"{field.name}__currency", "")).strip()
            posted.answers[field.name] = f"{value} {currency}" if currency else value
    return posted


def _report(language: Language, posted: Posted) -> SubmitReport:
    try:
        return SubmitReport.model_validate({
            "organisation": posted.organisation, "language": language.code,
            "answers": posted.answers, "form_version": posted.definition.version})
    except ValidationError as exc:
        raise validation_problem(exc) from exc


def _form_page(request: Request, language: Language, prefix: str, definition: FormDefinition,
               *, values: dict[str, Any], errors: dict[str, str],
               uploads: dict[str, list[staging.Staged]] | None = None, status: int = 200,
               **extra: Any) -> HTMLResponse:
    described = {name: [{"token": s.token, "description": upload_description(s, language)}
                        for s in staged] for name, staged in (uploads or {}).items()}
    return _render(request, "form.html", language, prefix, status=status, form=definition,
                   values=values, errors=errors, uploads=described,
                   conditions=conditions(definition), money=money,
                   today=today().isoformat(), **extra)


def _form_again(request: Request, language: Language, prefix: str, posted: Posted,
                exc: SuaraError | None = None) -> HTMLResponse:
    """The form filled in with the worker's answers and files; with errors by each field
    (422) when `exc` or a refused file says what is wrong."""
    errors = {**(field_errors(exc, language) if exc else {}), **posted.errors}
    return _form_page(request, language, prefix, posted.definition,
                      values={**posted.answers, "organisation": posted.organisation},
                      errors=errors, uploads=posted.uploads, status=422 if errors else 200)


def displayed(definition: FormDefinition, answers: dict[str, Answer],
              uploads: dict[str, list[staging.Staged]], language: Language
              ) -> list[tuple[FormField, str | list[str] | None]]:
    """Each question that applies, with its answer as the worker reads it."""
    gettext = i18n.translations(language).gettext
    shown: list[tuple[FormField, str | list[str] | None]] = []
    for f in definition.fields:
        if f.show_if and not f.show_if.met(answers):
            continue
        value = answers.get(f.name)
        labels = {c.value: c.label for c in f.choices}
        text: str | list[str] | None
        if value in (None, "", []):
            text = None
        elif f.kind == "file":
            text = ([upload_description(s, language) for s in uploads[f.name]]
                    if f.name in uploads else [gettext("Photo or document")] * len(value))
        elif isinstance(value, list):
            text = [labels.get(v, v) for v in value]
        elif f.choices:
            text = labels.get(value, value)
        elif f.kind == "date":
            text = _readable_date(value, language)
        elif f.kind == "money":
            text = _readable_money(value, language)
        else:
            text = value
        shown.append((f, text))
    return shown


def _readable_date(value: str, language: Language) -> str:
    try:
        return format_date(date.fromisoformat(value), "long", locale=language.locale)
    except ValueError:
        return value


def _readable_money(value: str, language: Language) -> str:
    amount, currency = money(value)
    try:
        return format_currency(Decimal(amount.replace(",", "")), currency,
                               locale=language.locale)
    except (InvalidOperation, ValueError):
        return value


@router.get("/", response_class=HTMLResponse)
async def language_choice(request: Request, rpc: RpcDep) -> HTMLResponse:
    """The nine languages, each in its own script, above the English form."""
    form = await _form(rpc, ENGLISH)
    return _form_page(request, ENGLISH, "", form, values={}, errors={}, languages=LANGUAGES)


@router.get("/form/{version}.css", include_in_schema=False)
async def conditional_questions_css(version: Annotated[int, Path(ge=1, le=MAX_VERSION)],
                                    rpc: RpcDep) -> Response:
    """The rules that hide a form version's conditional questions until they apply."""
    form = await _form(rpc, ENGLISH, version)
    return Response(form_css(form), media_type="text/css")


@router.get("/{code}/", response_class=HTMLResponse)
async def report_form(request: Request, code: str, rpc: RpcDep) -> HTMLResponse:
    """The report form in the language of the URL."""
    if (language := i18n.BY_CODE.get(code)) is None:
        return not_found(request)
    form = await _form(rpc, language)
    return _form_page(request, language, f"/{code}", form, values={}, errors={})


async def _review(request: Request, rpc: RpcDep, language: Language, prefix: str) -> HTMLResponse:
    posted = await _posted(request, rpc, language)
    try:  # intake checks the answers exactly as it will on sending, and stores nothing
        await rpc(S.INTAKE_CHECK, _report(language, posted), AnswersChecked)
    except ValidationFailed as exc:
        return _form_again(request, language, prefix, posted, exc)
    if posted.errors:
        return _form_again(request, language, prefix, posted)
    definition = posted.definition
    chosen = next(o.label for o in definition.organisations if o.value == posted.organisation)
    return _render(request, "review.html", language, prefix, form=definition,
                   values=posted.answers, organisation=posted.organisation,
                   organisation_label=chosen,
                   shown=displayed(definition, posted.answers, posted.uploads, language))


async def _edit(request: Request, rpc: RpcDep, language: Language, prefix: str) -> HTMLResponse:
    posted = await _posted(request, rpc, language)
    return _form_again(request, language, prefix, posted)


async def _submit(request: Request, rpc: RpcDep, language: Language, prefix: str) -> HTMLResponse:
    posted = await _posted(request, rpc, language)
    if posted.errors:
        return _form_again(request, language, prefix, posted)
    try:
        receipt = await rpc(S.INTAKE_SUBMIT, _report(language, posted), SubmitReceipt)
    except ValidationFailed as exc:
        return _form_again(request, language, prefix, posted, exc)
    answers = posted.answers
    categories = answers.get("categories", [])
    routes = await _remedies(rpc, answers.get("country"), answers.get("origin"),
                             categories if isinstance(categories, list) else [], language)
    return _render(request, "receipt.html", language, prefix, status=201, receipt=receipt,
                   routes=routes)


async def _remedies(rpc: RpcDep, country: Answer | None, origin: Answer | None,
                    issues: list[str], language: Language) -> list[RemedyRoute]:
    """Where else the worker can go, for the country they work in and their issues. The
    receipt page is shown only once, so a failure here leaves the list out, never the page."""
    if not isinstance(country, str) or len(country) != 2:
        return []
    origin = origin if isinstance(origin, str) and len(origin) == 2 else None
    query = RemedyQuery(destination=country, origin=origin, language=language.code,
                        issues=issues)
    try:
        return (await rpc(S.INTAKE_REMEDIES, query, RemedyRoutes)).routes
    except SuaraError:
        return []


@router.get("/follow-up", response_class=HTMLResponse)
async def follow_up_form_en(request: Request) -> HTMLResponse:
    """Ask for reference and receipt, in English."""
    return _render(request, "follow_up.html", ENGLISH, "", error=None)


@router.get("/{code}/follow-up", response_class=HTMLResponse)
async def follow_up_form(request: Request, code: str) -> HTMLResponse:
    """Ask for reference and receipt."""
    if (language := i18n.BY_CODE.get(code)) is None:
        return not_found(request)
    return _render(request, "follow_up.html", language, f"/{code}", error=None)


@router.get("/claim", response_class=HTMLResponse)
async def claim_form_en(request: Request) -> HTMLResponse:
    """Ask for the reference and one-time code from assisted or partner intake, in English."""
    return _render(request, "claim.html", ENGLISH, "", error=None)


@router.get("/{code}/claim", response_class=HTMLResponse)
async def claim_form(request: Request, code: str) -> HTMLResponse:
    """Ask for the reference and one-time code from assisted or partner intake."""
    if (language := i18n.BY_CODE.get(code)) is None:
        return not_found(request)
    return _render(request, "claim.html", language, f"/{code}", error=None)


async def _claim(request: Request, rpc: RpcDep, language: Language, prefix: str) -> HTMLResponse:
    gettext = i18n.translations(language).gettext
    posted = await request.form()
    reference = str(posted.get("reference", "")).strip()[:32]
    code = str(posted.get("claim_code", "")).strip()[:32]
    if not reference or not code:
        return _render(request, "claim.html", language, prefix, status=422,
                       error=gettext("Enter both your reference and your one-time code."))
    try:
        receipt = await rpc(S.INTAKE_CLAIM, ClaimReceipt(reference=reference, claim_code=code),
                            SubmitReceipt)
    except SuaraError as exc:
        errors = {404: gettext("That reference and code do not match, or the code was already "
                               "used. Check both, or ask the organisation for a new code."),
                  409: gettext("This code has expired. Ask the organisation that filed your "
                               "report for a new one."),
                  429: gettext("Too many wrong codes for this reference. Wait a while, then "
                               "try again.")}
        return _refused(request, language, prefix, exc, "claim.html",
                        errors.get(exc.status, exc.detail))
    return _render(request, "receipt.html", language, prefix, status=201, receipt=receipt,
                   routes=[])


def _refused(request: Request, language: Language, prefix: str, exc: SuaraError,
             template: str = "follow_up.html", error: str | None = None) -> HTMLResponse:
    """The page asking for reference and receipt (or claim code) again, saying what went
    wrong, with Retry-After during a lockout; a server error is not the worker's to fix."""
    if exc.status >= 500:
        raise exc
    page = _render(request, template, language, prefix, status=exc.status,
                   error=error or lookup_error(exc, language))
    if "retry_after" in exc.extra:
        page.headers["Retry-After"] = str(exc.extra["retry_after"])
    return page


def lookup_error(exc: SuaraError, language: Language) -> str:
    """What went wrong with a lookup, in the worker's language."""
    gettext = i18n.translations(language).gettext
    if exc.status == 429:
        return gettext("Too many wrong receipts for this reference. Wait a while, then try again.")
    if exc.status == 404:
        return gettext("We found no report with this reference and receipt. Check both and "
                       "try again.")
    if exc.status == 410:
        return gettext("What you told us in this report was deleted at the end of the time we "
                       "keep reports, so nothing more can be added to it. To tell us something "
                       "new, send a new report.")
    return exc.detail


def _secrets(posted: FormData) -> tuple[str, str]:
    return (str(posted.get("reference", "")).strip()[:32],
            str(posted.get("receipt", "")).strip()[:64])


async def _lookup(rpc: RpcDep, reference: str, receipt: str) -> tuple[ReportStatus, ReporterView]:
    """Status and inbox as `api.reporter_view` shows them, after one receipt check, with the
    submission's id (which the nudge contact needs)."""
    found = await _submission(rpc, reference, receipt)
    inbox = await rpc(S.NOTIFICATION_INBOX, InboxQuery(submission_id=found.submission_id), Inbox)
    return found, ReporterView(**found.model_dump(exclude={"submission_id"}),
                               messages=inbox.messages)


async def _status_page(request: Request, rpc: RpcDep, language: Language, prefix: str,
                       reference: str, receipt: str, notice: str | None = None,
                       answered: UUID | None = None, surveyed_now: bool = False,
                       status: int = 200, nudge: NudgeForm | None = None) -> HTMLResponse:
    """The reporter's status, messages and report, or the lookup form with what went wrong.
    Once retention deleted the report's content, it says so, and on which day."""
    gettext = i18n.translations(language).gettext
    try:
        found, view = await _lookup(rpc, reference, receipt)
    except SuaraError as exc:
        return _refused(request, language, prefix, exc)
    label = STATUS_LABELS.get(view.status)
    routes = await _remedies(rpc, view.country, view.origin, view.categories, language)
    reported: list[tuple[FormField, str | list[str] | None]] = []
    deleted_on = (format_date(view.content_deleted_on, "long", locale=language.locale)
                  if view.content_deleted_on else None)
    try:  # the report as filed, on the form version it was filed on
        if deleted_on is None:
            definition = await _form(rpc, language, view.form_version)
            reported = [(f, t) for f, t in displayed(definition, view.answers, {}, language)
                        if t]
    except SuaraError:
        pass
    contact = None if deleted_on else await _contact(rpc, found.submission_id)
    return _render(request, "status.html", language, prefix, status=status, view=view,
                   routes=routes, status_label=gettext(label) if label else view.status,
                   received_on=format_date(view.received_on, "long", locale=language.locale),
                   reference=reference, receipt=receipt, notice=notice, reported=reported,
                   deleted_on=deleted_on, answered=answered, surveyed_now=surveyed_now,
                   contact=contact, nudge=nudge or NudgeForm())


async def _follow_up(request: Request, rpc: RpcDep, language: Language,
                     prefix: str) -> HTMLResponse:
    gettext = i18n.translations(language).gettext
    reference, receipt = _secrets(await request.form())
    if not reference or not receipt:
        return _render(request, "follow_up.html", language, prefix, status=422,
                       error=gettext("Enter both your reference and your receipt."))
    return await _status_page(request, rpc, language, prefix, reference, receipt)


WRITE_PAGES: dict[FollowUpKind | Literal["upload"], tuple[str, str]] = {
    "reply": (N_("Reply to your case handler"),
              N_("Your case handler reads this. Do not write your name unless you want to.")),
    "information": (N_("Add information to your report"),
                    N_("Did something new happen, or did you forget something? Write it here. "
                       "You can add photos or documents too.")),
    "upload": (N_("Add photos or documents"),
               N_("Photos of payslips, contracts or injuries help. We remove the place and time "
                  "hidden inside photos.")),
}


def _writer(kind: FollowUpKind | Literal["upload"], path: str) -> Page:
    """A page where the reporter writes (or uploads) to their case, and what sending it does:
    the first POST (from the status page) shows the page; a POST with `send` sends."""

    async def page(request: Request, rpc: RpcDep, language: Language,
                   prefix: str) -> HTMLResponse:
        gettext = i18n.translations(language).gettext
        attach.refuse_oversized(request)
        posted = await request.form()
        reference, receipt = _secrets(posted)
        text = str(posted.get("text", "")).strip()[:5000]
        title, help_text = WRITE_PAGES[kind]

        def again(status: int, error: str | None) -> HTMLResponse:
            return _render(request, "write.html", language, prefix, status=status, kind=kind,
                           action=path, title=gettext(title), help_text=gettext(help_text),
                           reference=reference, receipt=receipt, text=text, error=error)

        if not reference or not receipt:
            return _render(request, "follow_up.html", language, prefix, status=422,
                           error=gettext("Enter both your reference and your receipt."))
        if "send" not in posted:
            return again(200, None)
        files = [v for v in posted.getlist("files") if attach.is_file(v)]
        staged, refused = await attach.stage_all(attach.store_of(request), files)  # type: ignore[arg-type]
        if refused:
            return again(422, " ".join(refusal_message(r, language) for r in refused))
        if not text and not staged:
            return again(422, gettext("Write something or attach a file."))
        message = FollowUp(reference=reference, receipt=receipt,
                           kind="information" if kind == "upload" else kind, text=text,
                           files=[s.token for s in staged][:attach.LIMITS.max_files])
        try:
            await rpc(S.INTAKE_FOLLOW_UP, message, FollowUpSent)
        except SuaraError as exc:
            if exc.status >= 500:
                raise
            if exc.status == 410:  # deleted under the retention policy: the page says so
                return await _status_page(request, rpc, language, prefix, reference, receipt,
                                          notice=lookup_error(exc, language), status=410)
            error = (lookup_error(exc, language) if exc.status in (404, 429)
                     else " ".join(field_errors(exc, language).values()) or exc.detail)
            return again(exc.status, error)
        return await _status_page(request, rpc, language, prefix, reference, receipt,
                                  notice=gettext("Sent. Your case handler will see it."))

    return page


async def _check_in(request: Request, rpc: RpcDep, language: Language,
                    prefix: str) -> HTMLResponse:
    """The reporter's answer to a post-closure check-in: punished for complaining, or not."""
    gettext = i18n.translations(language).gettext
    posted = await request.form()
    reference, receipt = _secrets(posted)
    answer = str(posted.get("answer", ""))
    try:
        message = FollowUp(reference=reference, receipt=receipt, kind="check-in",
                           answers_message=UUID(str(posted.get("question", ""))),
                           answer=answer)  # type: ignore[arg-type]
    except ValueError:
        return _render(request, "follow_up.html", language, prefix, status=422,
                       error=gettext("Enter both your reference and your receipt."))
    try:
        await rpc(S.INTAKE_FOLLOW_UP, message, FollowUpSent)
    except SuaraError as exc:
        if exc.status == 410:
            return await _status_page(request, rpc, language, prefix, reference, receipt,
                                      notice=lookup_error(exc, language), status=410)
        return _refused(request, language, prefix, exc)
    notice = (gettext("Thank you for telling us. Your case is opened again; your case handler "
                      "will write to you here.") if answer == "yes"
              else gettext("Thank you for answering."))
    return await _status_page(request, rpc, language, prefix, reference, receipt,
                              notice=notice, answered=message.answers_message)


async def _survey(request: Request, rpc: RpcDep, language: Language, prefix: str) -> HTMLResponse:
    """The reporter's rating of the process: counted, never kept with the report."""
    gettext = i18n.translations(language).gettext
    posted = await request.form()
    reference, receipt = _secrets(posted)
    try:
        answers = SurveyAnswers(reference=reference, receipt=receipt,
                                **{q: str(posted.get(q, "")) for q in SURVEY_QUESTIONS})
    except ValueError:
        return await _status_page(request, rpc, language, prefix, reference, receipt,
                                  notice=gettext("Choose a number for each question."))
    try:
        await rpc(S.INTAKE_SURVEY, answers, SurveyThanks)
    except SuaraError as exc:
        if exc.status == 409:  # rated already, or no decision yet: the page says where it is
            return await _status_page(request, rpc, language, prefix, reference, receipt,
                                      surveyed_now=True)
        return _refused(request, language, prefix, exc)
    return await _status_page(request, rpc, language, prefix, reference, receipt,
                              notice=gettext("Thank you. Your answers were counted."),
                              surveyed_now=True)


# --- nudges: a content-free "there is news" by SMS or email ------------------------------------

NUDGE_ZONES = {"HK": "Asia/Hong_Kong", "TW": "Asia/Taipei", "SG": "Asia/Singapore",
               "MY": "Asia/Kuala_Lumpur", "TH": "Asia/Bangkok"}  # where the form says they work
# Elsewhere: every corridor Suara serves lies between UTC+6:30 (Myanmar) and UTC+8 (Hong Kong,
# the Philippines), so UTC+7 keeps "not at night" within an hour of true; UTC would put the
# quiet hours in the middle of an Asian day and nudge the worker at night.
NUDGE_ZONE_ELSEWHERE = "Asia/Bangkok"
REPORTER_LANGUAGES: frozenset[str] = frozenset(get_args(ReporterLanguage))
NIGHT = (time(21, 0), time(7, 0))
ADDRESS_ERRORS = {
    "sms": N_("Write the number with your country code, for example +62 812 3456 7890."),
    "email": N_("This is not an email address. Check it and write it again."),
}


@dataclass
class NudgeForm:
    """The nudge form as the worker filled it in, kept when it comes back with an error."""

    channel: Literal["sms", "email"] = "sms"
    address: str = ""
    quiet: bool = True
    error: str | None = None
    notice: str | None = None

    @classmethod
    def read(cls, posted: FormData) -> NudgeForm:
        channel: Literal["sms", "email"] = "email" if posted.get("channel") == "email" else "sms"
        return cls(channel, str(posted.get(channel, "")).strip()[:320], "quiet" in posted)


async def _contact(rpc: RpcDep, submission_id: UUID) -> ReporterContactView | None:
    """Where the nudges go (masked); None when the service cannot say, so the page offers no
    form that would replace a contact it did not see."""
    try:
        return await rpc(S.NOTIFICATION_CONTACT_GET,
                         ReporterContactQuery(submission_id=submission_id), ReporterContactView)
    except SuaraError:
        return None


def _contact_command(found: ReportStatus, form: NudgeForm,
                     language: Language) -> SetReporterContact:
    """The time zone from where the worker said they work, the language from the page."""
    quiet_from, quiet_until = NIGHT if form.quiet else (None, None)
    try:
        return SetReporterContact.model_validate({
            "submission_id": found.submission_id, "channel": form.channel,
            "address": form.address,
            "language": language.code if language.code in REPORTER_LANGUAGES else "en",
            "timezone": NUDGE_ZONES.get(found.country or "", NUDGE_ZONE_ELSEWHERE),
            "quiet_from": quiet_from, "quiet_until": quiet_until})
    except ValidationError as exc:
        raise validation_problem(exc) from exc


def address_error(exc: ValidationFailed, channel: str, language: Language) -> str:
    """A refused address in the worker's language, never the service's English."""
    fields = [e.get("field") for e in exc.extra.get("errors", []) if isinstance(e, dict)]
    if "address" not in fields:
        return exc.detail
    return i18n.translations(language).gettext(ADDRESS_ERRORS[channel])


def _missing_secrets(request: Request, language: Language, prefix: str) -> HTMLResponse:
    gettext = i18n.translations(language).gettext
    return _render(request, "follow_up.html", language, prefix, status=422,
                   error=gettext("Enter both your reference and your receipt."))


async def _nudge_refused(request: Request, rpc: RpcDep, language: Language, prefix: str,
                         reference: str, receipt: str, exc: SuaraError) -> HTMLResponse:
    if exc.status == 410:  # content deleted under the retention policy: the page says so
        return await _status_page(request, rpc, language, prefix, reference, receipt,
                                  notice=lookup_error(exc, language), status=410)
    return _refused(request, language, prefix, exc)


async def _nudges(request: Request, rpc: RpcDep, language: Language, prefix: str) -> HTMLResponse:
    """Keep where the nudges go. Like every post here, the receipt is checked first, and a
    wrong one counts towards the reference's attempt limit."""
    gettext = i18n.translations(language).gettext
    posted = await request.form()
    reference, receipt = _secrets(posted)
    if not reference or not receipt:
        return _missing_secrets(request, language, prefix)
    form = NudgeForm.read(posted)
    try:
        found = await _submission(rpc, reference, receipt)
        await rpc(S.NOTIFICATION_CONTACT_SET, _contact_command(found, form, language),
                  ReporterContactView)
    except ValidationFailed as exc:
        form.error = address_error(exc, form.channel, language)
        return await _status_page(request, rpc, language, prefix, reference, receipt,
                                  status=422, nudge=form)
    except SuaraError as exc:
        return await _nudge_refused(request, rpc, language, prefix, reference, receipt, exc)
    form = NudgeForm(notice=gettext("Done. We will send you a message when there is news."))
    return await _status_page(request, rpc, language, prefix, reference, receipt, nudge=form)


async def _nudges_stop(request: Request, rpc: RpcDep, language: Language,
                       prefix: str) -> HTMLResponse:
    """Stop the nudges and delete the address (nothing waiting is sent)."""
    gettext = i18n.translations(language).gettext
    reference, receipt = _secrets(await request.form())
    if not reference or not receipt:
        return _missing_secrets(request, language, prefix)
    try:
        found = await _submission(rpc, reference, receipt)
        await rpc(S.NOTIFICATION_CONTACT_REMOVE,
                  ReporterContactQuery(submission_id=found.submission_id), ReporterContactView)
    except SuaraError as exc:
        return await _nudge_refused(request, rpc, language, prefix, reference, receipt, exc)
    form = NudgeForm(notice=gettext("Stopped. We will send no more messages, and we deleted "
                                    "your number or email."))
    return await _status_page(request, rpc, language, prefix, reference, receipt, nudge=form)


Page = Callable[[Request, RpcDep, Language, str], Awaitable[HTMLResponse]]


def post_in_every_language(path: str, page: Page, summary: str) -> None:
    """Serve `page` for a POST to `/<lang><path>`, and to `<path>` in English (the addresses
    from before languages had their own)."""

    async def english(request: Request, rpc: RpcDep) -> HTMLResponse:
        return await page(request, rpc, ENGLISH, "")

    async def localized(request: Request, code: str, rpc: RpcDep) -> HTMLResponse:
        if (language := i18n.BY_CODE.get(code)) is None:
            return not_found(request)
        return await page(request, rpc, language, f"/{code}")

    router.add_api_route(path, english, methods=["POST"], response_class=HTMLResponse,
                         summary=summary)
    router.add_api_route("/{code}" + path, localized, methods=["POST"],
                         response_class=HTMLResponse, summary=summary)


post_in_every_language("/report", _submit, "Send the report; show the receipt once, or the "
                       "form again with errors by each field")
post_in_every_language("/review", _review, "Show every answer before it is sent (nothing is "
                       "stored: the answers travel in the page as hidden inputs)")
post_in_every_language("/edit", _edit, "The form again, filled in with the reviewed answers")
post_in_every_language("/reply", _writer("reply", "/reply"), "Write to the case handler "
                       "(reference and receipt travel in the form, never in the address)")
post_in_every_language("/add-information", _writer("information", "/add-information"),
                       "Add information to the report")
post_in_every_language("/upload", _writer("upload", "/upload"), "Add photos or documents to "
                       "the report")
post_in_every_language("/claim", _claim, "Turn a one-time code from assisted or partner intake "
                       "into the worker's own receipt")
post_in_every_language("/survey", _survey, "Rate the process once a decision is reached "
                       "(counted per organisation and quarter, never kept with the report)")
post_in_every_language("/check-in", _check_in, "Answer a check-in after closure: was the "
                       "reporter punished for complaining?")
post_in_every_language("/nudges", _nudges, "Get a content-free message (SMS or email) when "
                       "there is news (reference and receipt travel in the form)")
post_in_every_language("/nudges/stop", _nudges_stop, "Stop those messages and delete the "
                       "address")
post_in_every_language("/follow-up", _follow_up, "Status and messages for a reference and "
                       "receipt")
