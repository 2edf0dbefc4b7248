"""Server-rendered pages for workers: no JavaScript, no cookies, no third-party resources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.datastructures import FormData

from suara_contracts.rpc import Answer, FormDefinition, FormQuery, SubmitReceipt, SubmitReport
from suara_contracts.subjects import Rpc as S
from suara_gateway.api import reporter_view
from suara_gateway.deps import RpcDep
from suara_kit.errors import SuaraError, ValidationFailed
from suara_kit.messaging import validation_problem

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
router = APIRouter(include_in_schema=False)


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"lang": "en", **context},
                                      status_code=status)


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


@router.get("/", response_class=HTMLResponse)
async def report_form(request: Request, rpc: RpcDep) -> HTMLResponse:
    """The report form."""
    definition = await rpc(S.INTAKE_FORM, FormQuery(), FormDefinition)
    return _render(request, "form.html", form=definition, values={}, errors={})


@router.post("/report", response_class=HTMLResponse)
async def submit_report(request: Request, rpc: RpcDep) -> HTMLResponse:
    """Submit the form; show the receipt once, or the form again with errors by each field."""
    definition = await rpc(S.INTAKE_FORM, FormQuery(), FormDefinition)
    posted = await request.form()
    answers = answers_from(posted, definition)
    organisation = str(posted.get("organisation", ""))
    try:
        report = SubmitReport.model_validate({"organisation": organisation, "answers": answers})
        receipt = await rpc(S.INTAKE_SUBMIT, report, SubmitReceipt)
    except (ValidationError, ValidationFailed) as exc:
        if isinstance(exc, ValidationError):
            exc = validation_problem(exc)
        return _render(request, "form.html", status=422, form=definition,
                       values={**answers, "organisation": organisation},
                       errors=field_errors(exc))
    return _render(request, "receipt.html", status=201, receipt=receipt)


@router.get("/follow-up", response_class=HTMLResponse)
async def follow_up_form(request: Request) -> HTMLResponse:
    """Ask for reference and receipt."""
    return _render(request, "follow_up.html", error=None)


@router.post("/follow-up", response_class=HTMLResponse)
async def follow_up(request: Request, rpc: RpcDep) -> HTMLResponse:
    """Status and messages for a reference and receipt."""
    posted = await request.form()
    reference = str(posted.get("reference", "")).strip()[:32]
    receipt = str(posted.get("receipt", "")).strip()[:64]
    if not reference or not receipt:
        return _render(request, "follow_up.html", status=422,
                       error="Enter both your reference and your receipt.")
    try:
        view = await reporter_view(rpc, reference, receipt)
    except SuaraError as exc:
        if exc.status >= 500:
            raise
        page = _render(request, "follow_up.html", status=exc.status, error=exc.detail)
        if "retry_after" in exc.extra:
            page.headers["Retry-After"] = str(exc.extra["retry_after"])
        return page
    return _render(request, "status.html", view=view)
