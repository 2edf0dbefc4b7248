"""The case lifecycle table and the one function that enforces it."""

from __future__ import annotations

import pytest

from suara_cases.states import TRANSITIONS, CaseStatus, check_transition
from suara_kit.errors import Conflict

ALLOWED = [(a, b) for a, targets in TRANSITIONS.items() for b in sorted(targets)]
ILLEGAL = [
    (CaseStatus.RECEIVED, CaseStatus.RESOLVED),
    (CaseStatus.RECEIVED, CaseStatus.CLOSED),
    (CaseStatus.ACKNOWLEDGED, CaseStatus.ACKNOWLEDGED),
    (CaseStatus.ACKNOWLEDGED, CaseStatus.RECEIVED),
    (CaseStatus.IN_ASSESSMENT, CaseStatus.CLOSED),
    (CaseStatus.IN_MEDIATION, CaseStatus.REFERRED),
    (CaseStatus.RESOLVED, CaseStatus.IN_ASSESSMENT),
    (CaseStatus.CLOSED, CaseStatus.RECEIVED),
    (CaseStatus.CLOSED, CaseStatus.CLOSED),
]


def test_every_status_has_an_entry() -> None:
    assert set(TRANSITIONS) == set(CaseStatus)
    for targets in TRANSITIONS.values():
        assert targets <= set(CaseStatus)


def test_every_status_is_reachable_from_received() -> None:
    seen, todo = {CaseStatus.RECEIVED}, [CaseStatus.RECEIVED]
    while todo:
        for nxt in TRANSITIONS[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    assert seen == set(CaseStatus)


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_allowed_transition_passes(current: CaseStatus, target: CaseStatus) -> None:
    check_transition(str(current), target)


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal_transition_is_409_naming_the_allowed_moves(current: CaseStatus,
                                                          target: CaseStatus) -> None:
    assert target not in TRANSITIONS[current]
    with pytest.raises(Conflict) as info:
        check_transition(str(current), target)
    assert info.value.status == 409
    assert f"cannot become '{target}'" in info.value.detail
    for move in TRANSITIONS[current]:
        assert move.value in info.value.detail
    assert info.value.extra == {"current": current, "target": target}
    assert info.value.problem()["status"] == 409


def test_every_illegal_transition_is_refused() -> None:
    refused = 0
    for current in CaseStatus:
        for target in set(CaseStatus) - TRANSITIONS[current]:
            with pytest.raises(Conflict):
                check_transition(current.value, target)
            refused += 1
    assert refused == len(CaseStatus) ** 2 - len(ALLOWED)


def test_unknown_current_status_is_not_silently_allowed() -> None:
    with pytest.raises(ValueError, match="not-a-status"):
        check_transition("not-a-status", CaseStatus.ACKNOWLEDGED)
