"""Aggregate statistics: for the worker committee and case handlers (tokens) and for everyone
(JSON and the server-rendered transparency page). Groups of fewer than 5 cases are suppressed by
case-management; nothing here adds a case, a name or a date finer than a month."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from babel.dates import format_skeleton
from babel.numbers import format_decimal, format_percent
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from suara_contracts.rpc import FormDefinition, FormQuery
from suara_contracts.statistics import MONTH, SLUG, GroupFigures, Statistics, StatisticsQuery
from suara_contracts.subjects import Rpc as S
from suara_gateway import i18n
from suara_gateway.api_referrals import command
from suara_gateway.deps import AnyStaffDep, Rpc, RpcDep
from suara_gateway.i18n import ENGLISH, Language
from suara_gateway.pages import _render, not_found
from suara_gateway.schemas import problem_responses
from suara_kit.errors import SuaraError, ValidationFailed

router = APIRouter(responses=problem_responses(422, 503))

FromMonth = Annotated[str | None, Query(alias="from", pattern=MONTH, examples=["2026-01"],
                                        description="first month, by the day reports arrived")]
ToMonth = Annotated[str | None, Query(alias="to", pattern=MONTH, examples=["2026-06"],
                                      description="last month; the last complete one when left "
                                      "out (the current month never counts)")]


@router.get("/api/v1/statistics", tags=["worker committee", "case handler"],
            responses=problem_responses(401, 403))
async def staff_statistics(
        actor: AnyStaffDep, rpc: RpcDep,
        organisation: Annotated[str | None, Query(pattern=SLUG)] = None,
        period_from: FromMonth = None, period_to: ToMonth = None) -> Statistics:
    """Counts by issue and corridor, days to acknowledge and to resolve (median, 90th
    percentile) and deadline compliance, for reports received in whole months. The worker
    committee sees any organisation (all together when none is given); a case handler sees
    their own. A group or figure based on fewer than 5 cases is null and `suppressed`."""
    query = command(StatisticsQuery, actor=actor, organisation=organisation,
                    period_from=period_from, period_to=period_to)
    return await rpc(S.CASES_STATISTICS, query, Statistics)


@router.get("/api/v1/public/statistics", tags=["transparency"])
async def public_statistics(rpc: RpcDep, period_from: FromMonth = None,
                            period_to: ToMonth = None) -> Statistics:
    """The same figures for everyone, every organisation together, without a token."""
    query = command(StatisticsQuery, period_from=period_from, period_to=period_to)
    return await rpc(S.CASES_STATISTICS, query, Statistics)


@dataclass
class Row:
    """A table row as the page shows it: its codes and its cells (None: hidden)."""

    key: str
    origin: str
    destination: str
    cells: list[str | None]


def row(figures: GroupFigures, language: Language) -> Row:
    """Numbers written the way the worker's language writes them."""
    locale = language.locale

    def number(value: float | None) -> str | None:
        return None if value is None else format_decimal(value, locale=locale)

    def percent(value: int | None) -> str | None:
        return None if value is None else format_percent(value / 100, locale=locale)

    origin, _, destination = figures.key.partition("→")
    ack, resolve = figures.time_to_acknowledge, figures.time_to_resolve
    return Row(key=figures.key, origin=origin, destination=destination, cells=[
        number(figures.cases), number(ack.median_days), number(ack.p90_days),
        number(resolve.median_days), number(resolve.p90_days),
        percent(figures.acknowledged_on_time.percent), percent(figures.feedback_on_time.percent)])


async def choice_labels(rpc: Rpc, language: Language) -> dict[str, dict[str, str]]:
    """The current form's own words for issue, country and origin codes; the page shows the
    codes when intake does not answer."""
    try:
        form = await rpc(S.INTAKE_FORM, FormQuery(language=language.code), FormDefinition)
    except SuaraError:
        return {}
    return {f.name: {c.value: c.label for c in f.choices} for f in form.fields}


async def _figures(rpc: Rpc, asked_from: str, asked_to: str) -> tuple[Statistics, bool]:
    """The public figures for the months asked, or for the default months when they cannot
    be read (and True, to say so)."""
    try:
        query = StatisticsQuery(period_from=asked_from or None, period_to=asked_to or None)
        return await rpc(S.CASES_STATISTICS, query, Statistics), False
    except (ValidationError, ValidationFailed):
        return await rpc(S.CASES_STATISTICS, StatisticsQuery(), Statistics), True


def _month(text: str | None, language: Language) -> str | None:
    if not text:
        return None
    year, month = (int(part) for part in text.split("-"))
    return format_skeleton("yMMMM", date(year, month, 1), locale=language.locale)


async def transparency_page(request: Request, rpc: Rpc, language: Language,
                            prefix: str) -> HTMLResponse:
    """The public figures as tables, in the worker's language; no script, no cookie."""
    asked = {name: request.query_params.get(name, "").strip()[:7] for name in ("from", "to")}
    figures, period_error = await _figures(rpc, asked["from"], asked["to"])
    labels = await choice_labels(rpc, language)
    return _render(
        request, "transparency.html", language, prefix, figures=figures,
        period_error=period_error,
        asked={name: value for name, value in asked.items() if re.match(MONTH, value)},
        start=_month(figures.period_from, language), end=_month(figures.period_to, language),
        totals=row(figures.totals, language),
        issues=[row(g, language) for g in figures.by_issue],
        corridors=[row(g, language) for g in figures.by_corridor],
        issue_names=labels.get("categories", {}), origin_names=labels.get("origin", {}),
        country_names=labels.get("country", {}))


@router.get("/transparency", response_class=HTMLResponse, include_in_schema=False)
async def transparency_english(request: Request, rpc: RpcDep) -> HTMLResponse:
    """The transparency page in English."""
    return await transparency_page(request, rpc, ENGLISH, "")


@router.get("/{code}/transparency", response_class=HTMLResponse, include_in_schema=False)
async def transparency(request: Request, code: str, rpc: RpcDep) -> HTMLResponse:
    """The transparency page in the language of the URL."""
    if (language := i18n.BY_CODE.get(code)) is None:
        return not_found(request)
    return await transparency_page(request, rpc, language, f"/{code}")
