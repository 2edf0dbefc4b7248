"""What the status page's nudge form asks notification to keep: the worker's zone from where
they work (or a zone within an hour of every corridor when the form does not say), the page's
language, and quiet hours only when the box is ticked."""

from __future__ import annotations

from datetime import date, time
from uuid import uuid4

import pytest

from suara_contracts.rpc import ReportStatus
from suara_gateway.i18n import BY_CODE
from suara_gateway.pages import NudgeForm, _contact_command


def status(country: str | None) -> ReportStatus:
    return ReportStatus(reference="SU-TEST-0001", submission_id=uuid4(), status="received",
                        received_on=date(2026, 11, 24), country=country)


@pytest.mark.parametrize(("country", "zone"), [
    ("HK", "Asia/Hong_Kong"), ("MY", "Asia/Kuala_Lumpur"), ("TH", "Asia/Bangkok"),
    ("other", "Asia/Bangkok"), (None, "Asia/Bangkok")])
def test_the_zone_comes_from_where_the_worker_works_never_utc(country: str | None,
                                                               zone: str) -> None:
    command = _contact_command(status(country), NudgeForm("sms", "+85291234567"), BY_CODE["fil"])
    assert command.timezone == zone
    assert command.language == "fil"
    assert (command.quiet_from, command.quiet_until) == (time(21), time(7))


def test_quiet_hours_only_when_the_box_is_ticked() -> None:
    command = _contact_command(status("SG"), NudgeForm("email", "a@b.example", quiet=False),
                               BY_CODE["zh-Hant"])
    assert (command.quiet_from, command.quiet_until) == (None, None)
    assert command.language == "zh-Hant"
