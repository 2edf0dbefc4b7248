"""The case lifecycle: one enum and one transitions table, enforced in one function."""

from __future__ import annotations

from enum import StrEnum

from suara_kit.errors import Conflict


class CaseStatus(StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    IN_ASSESSMENT = "in-assessment"
    REFERRED = "referred"
    IN_MEDIATION = "in-mediation"
    IN_RESOLUTION = "in-resolution"
    RESOLVED = "resolved"
    NOT_UPHELD = "not-upheld"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"


S = CaseStatus
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.RECEIVED: frozenset({S.ACKNOWLEDGED, S.WITHDRAWN}),
    S.ACKNOWLEDGED: frozenset({S.IN_ASSESSMENT, S.WITHDRAWN}),
    S.IN_ASSESSMENT: frozenset({S.REFERRED, S.IN_MEDIATION, S.IN_RESOLUTION, S.NOT_UPHELD,
                                S.WITHDRAWN}),
    S.REFERRED: frozenset({S.IN_ASSESSMENT, S.IN_RESOLUTION, S.RESOLVED, S.WITHDRAWN}),
    S.IN_MEDIATION: frozenset({S.IN_RESOLUTION, S.RESOLVED, S.NOT_UPHELD, S.WITHDRAWN}),
    S.IN_RESOLUTION: frozenset({S.RESOLVED, S.NOT_UPHELD, S.WITHDRAWN}),
    S.RESOLVED: frozenset({S.CLOSED}),
    S.NOT_UPHELD: frozenset({S.CLOSED}),
    S.WITHDRAWN: frozenset({S.CLOSED}),
    S.CLOSED: frozenset({S.IN_ASSESSMENT}),  # an appeal reopens
}


OPEN_STATES: frozenset[CaseStatus] = frozenset({
    S.RECEIVED, S.ACKNOWLEDGED, S.IN_ASSESSMENT, S.REFERRED, S.IN_MEDIATION, S.IN_RESOLUTION})
DECISIONS: frozenset[CaseStatus] = frozenset({S.RESOLVED, S.NOT_UPHELD})


def check_transition(current: str, target: CaseStatus) -> None:
    """Raise a 409 naming the allowed moves when `current` cannot become `target`."""
    allowed = TRANSITIONS[CaseStatus(current)]
    if target not in allowed:
        moves = ", ".join(sorted(allowed)) or "none"
        raise Conflict(f"A case that is '{current}' cannot become '{target}'. "
                       f"Allowed from '{current}': {moves}.", current=current, target=target)


def allowed_from(current: str) -> list[str]:
    """The statuses a case that is `current` may move to, in lifecycle order."""
    allowed = TRANSITIONS[CaseStatus(current)]
    return [status.value for status in CaseStatus if status in allowed]
