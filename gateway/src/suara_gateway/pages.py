"""Server-rendered pages for workers: no JavaScript, no cookies, no third-party resources."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from suara_contracts.rpc import (
    Answer,
    AnswersChecked,
    FormDefinition,
    FormQuery,
    RemedyQuery,
    RemedyRoute,
    RemedyRoutes,
    SubmitReceipt,
    SubmitReport,
)
from suara_contracts.subjects import Rpc as S
from suara_gateway import i18n
from suara_gateway.api import reporter_view
from suara_gateway.deps import RpcDep
from suara_gateway.i18n import ENGLISH, LANGUAGES, Language
from suara_kit.errors import SuaraError, ValidationFailed
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


def answers_from(form: FormData, definition: FormDefinition) -> dict[str, Answer]:
    """The answers of a posted form, shaped as the intake contract wants them."""
    answers: dict[str, Answer] = {}
    for field in definition.fields:
        if field.kind == "multiple-choice":
            values = [str(v) for v in form.getlist(field.name)]
            if values:
                answers[field.name] = values
        elif (value := str(form.get(field.name, "")).strip()):
            answers[field.name] = value
    return answers


def field_errors(exc: SuaraError) -> dict[str, str]:
    """Messages per form field, to show next to each question."""
    return {e["field"].removeprefix("answers."): e["message"]
            for e in exc.extra.get("errors", []) if isinstance(e, dict)}


async def _form(rpc: RpcDep, language: Language) -> FormDefinition:
    return await rpc(S.INTAKE_FORM, FormQuery(language=language.code), FormDefinition)


@router.get("/", response_class=HTMLResponse)
async def language_choice(request: Request, rpc: RpcDep) -> HTMLResponse:
    """The nine languages, each in its own script, above the English form."""
    form = await _form(rpc, ENGLISH)
    return _render(request, "form.html", ENGLISH, "", form=form, values={}, errors={},
                   languages=LANGUAGES)


@router.get("/{code}/", response_class=HTMLResponse)
async def report_form(request: Request, code: str, rpc: RpcDep) -> HTMLResponse:
    """The report form in the language of the URL."""
    if (language := i18n.BY_CODE.get(code)) is None:
        return not_found(request)
    form = await _form(rpc, language)
    return _render(request, "form.html", language, f"/{code}", form=form, values={}, errors={})


async def _posted(request: Request, rpc: RpcDep, language: Language
                  ) -> tuple[FormDefinition, dict[str, Answer], str]:
    """The form definition, and the answers and organisation the worker posted."""
    definition = await _form(rpc, language)
    posted = await request.form()
    return definition, answers_from(posted, definition), str(posted.get("organisation", ""))


def _report(language: Language, answers: dict[str, Answer], organisation: str) -> SubmitReport:
    try:
        return SubmitReport.model_validate({"organisation": organisation,
                                            "language": language.code, "answers": answers})
    except ValidationError as exc:
        raise validation_problem(exc) from exc


def _form_again(request: Request, language: Language, prefix: str, definition: FormDefinition,
                answers: dict[str, Answer], organisation: str,
                exc: SuaraError | None = None) -> HTMLResponse:
    """The form filled in with the worker's answers; with errors by each field (422) when
    `exc` says what is wrong."""
    return _render(request, "form.html", language, prefix, status=422 if exc else 200,
                   form=definition, values={**answers, "organisation": organisation},
                   errors=field_errors(exc) if exc else {})


async def _review(request: Request, rpc: RpcDep, language: Language, prefix: str) -> HTMLResponse:
    definition, answers, organisation = await _posted(request, rpc, language)
    try:  # intake checks the answers exactly as it will on sending, and stores nothing
        await rpc(S.INTAKE_CHECK, _report(language, answers, organisation), AnswersChecked)
    except ValidationFailed as exc:
        return _form_again(request, language, prefix, definition, answers, organisation, exc)
    chosen = next(o.label for o in definition.organisations if o.value == organisation)
    return _render(request, "review.html", language, prefix, form=definition, values=answers,
                   organisation=organisation, organisation_label=chosen)


async def _edit(request: Request, rpc: RpcDep, language: Language, prefix: str) -> HTMLResponse:
    definition, answers, organisation = await _posted(request, rpc, language)
    return _form_again(request, language, prefix, definition, answers, organisation)


async def _submit(request: Request, rpc: RpcDep, language: Language, prefix: str) -> HTMLResponse:
    definition, answers, organisation = await _posted(request, rpc, language)
    try:
        report = _report(language, answers, organisation)
        receipt = await rpc(S.INTAKE_SUBMIT, report, SubmitReceipt)
    except ValidationFailed as exc:
        return _form_again(request, language, prefix, definition, answers, organisation, exc)
    categories = answers.get("categories", [])
    routes = await _remedies(rpc, answers.get("country"),
                             categories if isinstance(categories, list) else [], language)
    return _render(request, "receipt.html", language, prefix, status=201, receipt=receipt,
                   routes=routes)


async def _remedies(rpc: RpcDep, country: Answer | None, issues: list[str],
                    language: Language) -> list[RemedyRoute]:
    """Where else the worker can go, for the country they work in and their issues. The
    receipt page is shown only once, so a failure here leaves the list out, never the page."""
    if not isinstance(country, str) or len(country) != 2:
        return []
    query = RemedyQuery(destination=country, origin=None, language=language.code, issues=issues)
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


def lookup_error(exc: SuaraError, language: Language) -> str:
    """What went wrong with a lookup, in the worker's language."""
    gettext = i18n.translations(language).gettext
    if exc.status == 429:
        return gettext("Too many wrong receipts for this reference. Wait a while, then try again.")
    if exc.status == 404:
        return gettext("We found no report with this reference and receipt. Check both and "
                       "try again.")
    return exc.detail


async def _follow_up(request: Request, rpc: RpcDep, language: Language,
                     prefix: str) -> HTMLResponse:
    gettext = i18n.translations(language).gettext
    posted = await request.form()
    reference = str(posted.get("reference", "")).strip()[:32]
    receipt = str(posted.get("receipt", "")).strip()[:64]
    if not reference or not receipt:
        return _render(request, "follow_up.html", language, prefix, status=422,
                       error=gettext("Enter both your reference and your receipt."))
    try:
        view = await reporter_view(rpc, reference, receipt)
    except SuaraError as exc:
        if exc.status >= 500:
            raise
        page = _render(request, "follow_up.html", language, prefix, status=exc.status,
                       error=lookup_error(exc, language))
        if "retry_after" in exc.extra:
            page.headers["Retry-After"] = str(exc.extra["retry_after"])
        return page
    label = STATUS_LABELS.get(view.status)
    routes = await _remedies(rpc, view.country, view.categories, language)
    return _render(request, "status.html", language, prefix, view=view, routes=routes,
                   status_label=gettext(label) if label else view.status,
                   received_on=format_date(view.received_on, "long", locale=language.locale))


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
post_in_every_language("/follow-up", _follow_up, "Status and messages for a reference and "
                       "receipt")
