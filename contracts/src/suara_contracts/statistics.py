"""Request and reply bodies of `suara.rpc.cases.v1.statistics`: aggregate figures for the worker
committee, case handlers and the public transparency page. No case, reference, respondent or
day appears in them, and a figure based on fewer than `min_group` cases is null and marked
suppressed."""

from __future__ import annotations

from pydantic import Field, model_validator

from suara_contracts.rpc import Actor, _Msg

MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
SLUG = r"^[a-z0-9][a-z0-9-]{0,63}$"


class StatisticsQuery(_Msg):
    """Figures for cases received in whole months. Without an actor (the public page) they
    cover every organisation together; the worker committee may ask for any organisation, a
    case handler gets their own organisation's."""

    actor: Actor | None = None
    organisation: str | None = Field(default=None, pattern=SLUG, description=(
        "one organisation; every organisation together when left out"))
    period_from: str | None = Field(default=None, pattern=MONTH, examples=["2026-01"],
                                    description="first month (by the day reports arrived)")
    period_to: str | None = Field(default=None, pattern=MONTH, examples=["2026-06"],
                                  description=("last month; the last complete month when left "
                                               "out (the current month never counts)"))

    @model_validator(mode="after")
    def _ordered(self) -> StatisticsQuery:
        if self.period_from and self.period_to and self.period_from > self.period_to:
            raise ValueError("period_from must not be after period_to")
        return self


class Duration(_Msg):
    """Days from receiving a report to an event, over the cases that reached it."""

    based_on: int | None = Field(description="cases measured; null when suppressed")
    median_days: float | None = None
    p90_days: float | None = Field(default=None, description=(
        "90th percentile (nearest rank): 9 in 10 of these cases took this long or less"))
    suppressed: bool = False


class Compliance(_Msg):
    """The share of cases that met a deadline, over the cases it applied to."""

    based_on: int | None = Field(description="cases the deadline applied to; null when "
                                 "suppressed")
    percent: int | None = Field(default=None, ge=0, le=100)
    suppressed: bool = False


class GroupFigures(_Msg):
    """One row: every case in scope (`all`), one issue, or one corridor (`origin→destination`).
    A suppressed group has no count and no figures."""

    key: str = Field(examples=["unpaid-wages", "ID→MY"])
    cases: int | None
    suppressed: bool = False
    time_to_acknowledge: Duration
    time_to_resolve: Duration = Field(description=(
        "days from receipt to closing after a decision (resolved or not upheld)"))
    acknowledged_on_time: Compliance = Field(description=(
        "acknowledged within the organisation's deadline (at most 7 days)"))
    feedback_on_time: Compliance = Field(description=(
        "decided within the organisation's feedback deadline (at most 3 months) of "
        "acknowledgement; open cases past that deadline count as late"))


class Statistics(_Msg):
    """Counts by issue and corridor, time to acknowledge and to resolve, deadline compliance.
    A case coded with several issues counts once under each; shown groups come first, largest
    first, then hidden groups in alphabetical order (never by size)."""

    min_group: int = Field(description="groups and figures based on fewer cases are suppressed")
    organisation: str | None = None
    period_from: str | None = Field(default=None, description="YYYY-MM; from the start when null")
    period_to: str = Field(description="YYYY-MM, the last month counted")
    totals: GroupFigures
    by_issue: list[GroupFigures]
    by_corridor: list[GroupFigures]
