"""The collector's settings for running services (not for the test process: restored)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from suara_kit.service import GC_THRESHOLD, settle_garbage_collector


@pytest.fixture
def collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_a_started_service_freezes_what_lives_and_collects_less_often(
        collector: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUARA_GC", raising=False)
    before = gc.get_freeze_count()
    settle_garbage_collector()
    assert gc.get_threshold() == GC_THRESHOLD
    assert gc.get_freeze_count() > before


def test_suara_gc_default_keeps_pythons_settings(
        collector: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUARA_GC", "default")
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    settle_garbage_collector()
    assert (gc.get_threshold(), gc.get_freeze_count()) == (threshold, frozen)
