"""Weekly hours and quiet hours are local wall-clock times: every contract documents them as a
string with a pattern and a description, never as `format: time` (RFC 3339 full-time, which
needs a UTC offset), and the one type that declares them accepts exactly what the pattern
says: a time with an offset, or in any other spelling, is refused."""

from __future__ import annotations

import json
import re
from datetime import UTC, time, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from pydantic import TypeAdapter, ValidationError

from suara_contracts.mediation import LOCAL_TIME_PATTERN, Hours, LocalTimeOfDay
from suara_contracts.notifications import SetReporterContact, StaffPreferences

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
DOCUMENTS = sorted([CONTRACTS / "openapi.json", CONTRACTS / "asyncapi.json",
                    *(CONTRACTS / "schemas").rglob("*.json")])
ADAPTER: TypeAdapter[time] = TypeAdapter(LocalTimeOfDay)
# (openapi component, property): every local time of the HTTP API
FIELDS = {("Hours", "start"), ("Hours", "end"), ("WeeklyHours", "start"), ("WeeklyHours", "end"),
          ("StaffPreferences", "quiet_from"), ("StaffPreferences", "quiet_until"),
          ("ContactRequest", "quiet_from"), ("ContactRequest", "quiet_until"),
          ("ReporterContactView", "quiet_from"), ("ReporterContactView", "quiet_until")}


def local_times(node: Any, where: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every schema in a document with the local-time pattern, and where it is."""
    if isinstance(node, list):
        return [found for i, item in enumerate(node) for found in local_times(item, where)]
    if not isinstance(node, dict):
        return []
    here = [(where, node)] if node.get("pattern") == LOCAL_TIME_PATTERN else []
    return here + [found for key, value in node.items()
                   for found in local_times(value, f"{where}/{key}")]


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.relative_to(CONTRACTS).as_posix())
def test_no_contract_documents_format_time(path: Path) -> None:
    assert '"format": "time"' not in path.read_text(encoding="utf-8")


def test_every_local_time_of_the_api_is_a_described_string_with_the_pattern() -> None:
    schemas = json.loads((CONTRACTS / "openapi.json").read_text(encoding="utf-8"))[
        "components"]["schemas"]
    # a model read and written may be documented twice, as `<Name>-Input` and `<Name>-Output`
    found = {(re.sub(r"-(Input|Output)$", "", where.split("/")[1]), where.split("/")[3])
             for where, _ in local_times(schemas)}
    assert found == FIELDS
    for where, schema in local_times(schemas):
        assert schema["type"] == "string", where
        assert "format" not in schema, where
        assert "UTC offset" in schema["description"], where


@pytest.mark.parametrize(("value", "parsed"), [
    ("09:00", time(9)), ("23:59", time(23, 59)), ("00:00:00", time(0)),
    ("17:30:15", time(17, 30, 15)), ("07:00:00.5", time(7, 0, 0, 500_000)),
    ("07:00:00.123456", time(7, 0, 0, 123_456))])
def test_a_local_time_in_the_pattern_is_accepted(value: str, parsed: time) -> None:
    assert re.fullmatch(LOCAL_TIME_PATTERN, value)
    assert ADAPTER.validate_json(json.dumps(value)) == parsed
    assert re.fullmatch(LOCAL_TIME_PATTERN, ADAPTER.dump_python(parsed, mode="json"))


@pytest.mark.parametrize("value", ["09:00+07:00", "09:00:00Z", "09:00:00z", "09:00:00.25-05:30",
                                   "09:00+0800", "09:00+08"])
def test_a_time_with_an_offset_is_refused_as_not_local(value: str) -> None:
    assert not re.fullmatch(LOCAL_TIME_PATTERN, value)
    with pytest.raises(ValidationError) as refused:
        ADAPTER.validate_json(json.dumps(value))
    [error] = refused.value.errors()
    assert error["type"] == "local_time_offset"
    assert "time zone given with it" in error["msg"]


@pytest.mark.parametrize("value", ["9:00", "0900", "09", "24:00", "23:60", "09:00:60",
                                   "09:00:00,5", "09:00:00.1234567", " 09:00", "09:00\n", "",
                                   "noon", 3600, 9.5, None, True])
def test_any_other_spelling_is_refused(value: Any) -> None:
    if isinstance(value, str):
        assert not re.fullmatch(LOCAL_TIME_PATTERN, value)
    with pytest.raises(ValidationError) as refused:
        ADAPTER.validate_python(value)
    assert refused.value.errors()[0]["type"] == "local_time_format"


def test_python_callers_pass_naive_times_and_aware_ones_are_refused() -> None:
    assert ADAPTER.validate_python(time(21)) == time(21)
    for aware in (time(21, tzinfo=UTC), time(21, tzinfo=timezone(timedelta(hours=7)))):
        with pytest.raises(ValidationError, match="without a UTC offset"):
            ADAPTER.validate_python(aware)


def test_every_model_with_local_times_refuses_an_offset() -> None:
    with pytest.raises(ValidationError, match="without a UTC offset"):
        Hours.model_validate_json('{"start": "09:00+07:00", "end": "17:00"}')
    with pytest.raises(ValidationError, match="without a UTC offset"):
        StaffPreferences.model_validate({"quiet_from": "21:00Z", "quiet_until": "07:00"})
    with pytest.raises(ValidationError, match="without a UTC offset"):
        SetReporterContact(submission_id=uuid4(), channel="sms", address="+6281234567890",
                           quiet_from=time(21, tzinfo=UTC))
    assert SetReporterContact(submission_id=uuid4(), channel="sms",
                              address="+6281234567890").quiet_from == time(21)
