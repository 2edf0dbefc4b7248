"""The cache of default-factory signatures: same answers as pydantic's, once per factory."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic._internal import _fields
from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

import suara_kit  # noqa: F401  (applies the cache)
from suara_kit import speedups


class _Metadata(SQLModel):
    metadata = SQLModel.metadata.__class__()  # not SQLModel's shared one


class Row(_Metadata, table=True):
    __tablename__ = "speedups_row"

    id: int = Field(primary_key=True)
    tags: list = Field(default_factory=list, sa_type=JSON)
    seen: dict = Field(default_factory=dict, sa_type=JSON)
    on: date = Field(default_factory=date.today)


def test_the_cache_is_in_place_and_answers_as_pydantic_does() -> None:
    check = _fields.takes_validated_data_argument
    assert hasattr(check, "cache_info")
    assert speedups.remember_default_factory_signatures()  # applying twice changes nothing
    assert _fields.takes_validated_data_argument is check

    def takes_data(data: dict[str, Any]) -> int:
        return 1

    class Unhashable:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self, data: dict[str, Any]) -> int:
            return 2

    for factory, expected in ((list, False), (dict, False), (date.today, False),
                              (takes_data, True), (lambda: 0, False), (Unhashable(), True)):
        assert check(factory) is expected, factory
        assert check(factory) is expected, factory  # from the cache


def test_a_table_model_gets_its_defaults_the_same_way() -> None:
    before = _fields.takes_validated_data_argument.cache_info().hits  # type: ignore[attr-defined]
    rows = [Row(id=i) for i in range(3)]
    assert [(r.id, r.tags, r.seen, r.on) for r in rows] == [
        (i, [], {}, date.today()) for i in range(3)]
    assert rows[0].tags is not rows[1].tags  # a new list each time, as before
    after = _fields.takes_validated_data_argument.cache_info().hits  # type: ignore[attr-defined]
    assert after - before >= 6  # the second and third rows asked the cache, not inspect
