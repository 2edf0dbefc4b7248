"""Reporters' ratings of the process, counted per organisation and quarter. A tally has no
case, reporter or day in it, and a quarter with fewer than `MIN_GROUP` answers is shown as
suppressed, so no handler can tell how the one reporter they just closed a case for rated them.
"""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases.models import SurveyTally
from suara_contracts.events import SurveyAnswered
from suara_contracts.rpc import SURVEY_QUESTIONS, Actor, SatisfactionRow
from suara_kit.errors import Forbidden

MIN_GROUP = 5
COMMITTEE, HANDLER = "worker-committee", "case-handler"


async def count(session: AsyncSession, event: SurveyAnswered) -> None:
    """Add one reporter's scores to their organisation's tally for the quarter."""
    for question, score in event.scores.items():
        if question not in SURVEY_QUESTIONS or not 1 <= score <= 5:
            continue
        key = (event.organisation, event.quarter, question, score)
        row = await session.get(SurveyTally, key)
        if row is None:
            row = SurveyTally(organisation=event.organisation, quarter=event.quarter,
                              question=question, score=score, count=0)
            session.add(row)
        row.count += 1


async def report(session: AsyncSession, actor: Actor) -> list[SatisfactionRow]:
    """The worker committee sees every organisation, a case handler their own; small groups
    are suppressed."""
    query = select(SurveyTally).order_by(col(SurveyTally.organisation), col(SurveyTally.quarter))
    if COMMITTEE not in actor.roles:
        if HANDLER not in actor.roles or not actor.organisation:
            raise Forbidden("Satisfaction figures are for the worker committee and case "
                            "handlers.")
        query = query.where(SurveyTally.organisation == actor.organisation)
    groups: dict[tuple[str, str], dict[str, dict[int, int]]] = defaultdict(
        lambda: defaultdict(dict))
    for row in await session.exec(query):
        groups[(row.organisation, row.quarter)][row.question][row.score] = row.count
    rows = []
    for (organisation, quarter), by_question in groups.items():
        responses = max(sum(scores.values()) for scores in by_question.values())
        if responses < MIN_GROUP:
            rows.append(SatisfactionRow(organisation=organisation, quarter=quarter,
                                        responses=None, suppressed=True))
            continue
        averages: dict[str, float | None] = {
            q: round(sum(s * n for s, n in scores.items()) / sum(scores.values()), 2)
            for q, scores in by_question.items()}
        rows.append(SatisfactionRow(organisation=organisation, quarter=quarter,
                                    responses=responses, suppressed=False, averages=averages))
    return rows
