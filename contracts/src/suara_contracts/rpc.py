"""Request and reply bodies of the request-reply subjects in `subjects.Rpc`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import Field, field_validator, model_validator

from suara_contracts.events import RiskLevel
from suara_contracts.tolerant import Tolerant

Answer = str | list[str]


class _Msg(Tolerant):
    """A request or reply body: the reader ignores fields it does not know
    (`suara_contracts.tolerant`). Where one is also a public request body, the gateway reads a
    strict copy (`suara_gateway.schemas.Public`)."""


class Actor(_Msg):
    """Who asks, as the gateway verified from the token. Never a reporter."""

    subject: str
    roles: list[str]
    organisation: str | None = None
    client_id: str | None = None


# intake
FieldKind = Literal["text", "long-text", "single-choice", "multiple-choice", "yes-no", "date",
                    "number", "money", "file"]
FIELD_NAME = r"^[a-z][a-z0-9_]{0,39}$"
MAX_VERSION = 2**31 - 1  # form versions are 32-bit integers in every database
LocalText = dict[str, str]
"""A text in several languages, keyed by language code (en, id, fil, km, my, vi, th, ms,
zh-Hant); English is always present."""


class Choice(_Msg):
    value: str
    label: str


class Condition(_Msg):
    """Ask a question only when an earlier question's answer is (or includes) one of `any_of`."""

    field: str = Field(pattern=FIELD_NAME)
    any_of: list[str] = Field(min_length=1, max_length=50)

    def met(self, answers: Mapping[str, Answer]) -> bool:
        """Whether the answers so far ask the question (the rule intake enforces and the
        pages show)."""
        given = answers.get(self.field)
        chosen = given if isinstance(given, list) else [given] if given else []
        return bool(set(chosen) & set(self.any_of))


class FormField(_Msg):
    """One question of the intake form, in one language, as a page renders it."""

    name: str
    kind: FieldKind
    label: str
    help: str = ""
    required: bool = False
    identifying: bool = Field(default=False, description=(
        "the answer could identify the worker: the form says so next to the question, and "
        "case-management keeps it out of referrals and exports"))
    choices: list[Choice] = []
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    currencies: list[str] = Field(default=[], description="for money: ISO 4217 codes offered")
    show_if: Condition | None = None


class ChoiceSpec(_Msg):
    value: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    label: LocalText
    danger: str | None = Field(default=None, max_length=40, description=(
        "choosing this marks the report high-risk with this reason (e.g. retaliation), so "
        "case-management puts it first"))


class FieldSpec(_Msg):
    """One question as the worker committee writes it: texts in every language."""

    name: str = Field(pattern=FIELD_NAME)
    kind: FieldKind
    label: LocalText
    help: LocalText = {}
    required: bool = False
    identifying: bool = False
    choices: list[ChoiceSpec] = Field(default=[], max_length=60)
    max_length: int | None = Field(default=None, ge=1, le=20000)
    minimum: float | None = None
    maximum: float | None = None
    currencies: list[str] = Field(default=[], max_length=20)
    show_if: Condition | None = None


class FormSpec(_Msg):
    """A whole intake form: the questions in order."""

    fields: list[FieldSpec] = Field(min_length=1, max_length=60)


FormStatus = Literal["draft", "approved"]


class FormQuery(_Msg):
    language: str = "en"
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION, description=(
        "an approved version; the current one when left out"))


class FormDefinition(_Msg):
    """An approved intake form in one language, as a worker-facing page renders it."""

    version: int
    language: str
    organisations: list[Choice]
    fields: list[FormField]


class FormVersion(_Msg):
    """One version of the intake form with its history: who drafted it, who approved it
    after which consultation."""

    version: int
    status: FormStatus
    current: bool = False
    spec: FormSpec
    note: str = ""
    based_on: int | None = None
    drafted_by: str
    drafted_on: date
    consultation_ref: str | None = None
    approved_by: str | None = None
    approved_on: date | None = None


class FormVersionList(_Msg):
    items: list[FormVersion]


class FormVersionsQuery(_Msg):
    """Approved versions are public (transparency); drafts only for the worker committee."""

    actor: Actor | None = None


class FormVersionQuery(_Msg):
    actor: Actor | None = None
    version: int = Field(ge=1, le=MAX_VERSION)


class DraftForm(_Msg):
    """A worker-committee member drafts a new version (or replaces their draft's questions)."""

    actor: Actor
    spec: FormSpec
    note: str = Field(default="", max_length=2000)
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION, description=(
        "the draft to replace; a new draft when left out"))


class ApproveForm(_Msg):
    """Approve a draft after consulting workers; it becomes the form every new report uses."""

    actor: Actor
    version: int = Field(ge=1, le=MAX_VERSION)
    consultation_ref: str = Field(min_length=3, max_length=200, description=(
        "where the consultation is recorded, e.g. 'Committee meeting 2026-11-20, minutes #14'"))


class SubmitReport(_Msg):
    """An anonymous report as the worker filled it in."""

    organisation: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    language: str = Field(default="en", min_length=2, max_length=16)
    answers: dict[str, Answer] = Field(max_length=100)
    form_version: int | None = Field(default=None, ge=1, le=MAX_VERSION, description=(
        "the approved form version the answers were given on; the current one when left out"))


class AnswersChecked(_Msg):
    """A report would be accepted as it stands (a dry run stores nothing); otherwise the
    check answers 422 with every problem by field."""

    valid: Literal[True] = True


class SubmitReceipt(_Msg):
    """What the worker keeps: the public reference and the secret receipt (shown once)."""

    reference: str
    receipt: str
    status: str


Channel = Literal["web", "assisted", "partner"]


class OnBehalfReport(_Msg):
    """A report filed for a worker by CSO staff (assisted) or a partner's system (partner).
    The filer gets a one-time claim code, never the receipt: the worker turns the code into
    a receipt only they know."""

    actor: Actor
    channel: Literal["assisted", "partner"]
    language: str = Field(default="en", min_length=2, max_length=16)
    answers: dict[str, Answer] = Field(max_length=100)
    form_version: int | None = Field(default=None, ge=1, le=MAX_VERSION)


class ClaimTicket(_Msg):
    """What the filer hands to the worker: the reference and a single-use claim code."""

    reference: str
    claim_code: str
    claim_by: date
    status: str


class ReissueClaim(_Msg):
    """Staff of the filing organisation replace a lost or expired claim code, as long as the
    worker has not claimed a receipt yet (after that, nobody but the worker holds the way in)."""

    actor: Actor
    reference: str = Field(min_length=1, max_length=32)


class ClaimReceipt(_Msg):
    """The worker redeems a claim code for their own receipt."""

    reference: str = Field(min_length=1, max_length=32)
    claim_code: str = Field(min_length=1, max_length=32)


class StatusQuery(_Msg):
    """A reporter's follow-up: reference and receipt, nothing else."""

    reference: str = Field(min_length=1, max_length=32)
    receipt: str = Field(min_length=1, max_length=64)


class ReportStatus(_Msg):
    """What the reporter may see about their report."""

    reference: str
    submission_id: UUID
    status: str
    received_on: date
    country: str | None = Field(default=None, description="where the reporter said they work")
    origin: str | None = Field(default=None, description="the country the reporter comes from")
    categories: list[str] = Field(default=[], description="what the reporter said happened")
    form_version: int | None = Field(default=None, description="the form version the report "
                                     "was filed on: render `answers` with it")
    answers: dict[str, Answer] = {}
    surveyed: bool = Field(default=False, description="the reporter rated the process already")
    content_deleted_on: date | None = Field(default=None, description=(
        "when the report's content (answers, files, messages) was deleted at the end of its "
        "retention period: `answers` is then empty; status and dates remain"))


FollowUpKind = Literal["reply", "information", "check-in"]


class FollowUp(_Msg):
    """The reporter writes to their case handler (reply) or adds to their report (information),
    with text, files (upload tokens) or both; reference and receipt prove it is them."""

    reference: str = Field(min_length=1, max_length=32)
    receipt: str = Field(min_length=1, max_length=64)
    kind: FollowUpKind = "reply"
    text: str = Field(default="", max_length=5000)
    files: list[str] = Field(default=[], max_length=5, description="tokens from /api/v1/uploads")
    answers_message: UUID | None = Field(default=None, description=(
        "for kind check-in: the id of the inbox message that asked"))
    answer: Literal["yes", "no"] | None = Field(default=None, description=(
        "for kind check-in: has anyone punished you for complaining since your case closed?"))

    @model_validator(mode="after")
    def _something(self) -> FollowUp:
        if self.kind == "check-in":
            if self.answers_message is None or self.answer is None:
                raise ValueError("a check-in answer needs answers_message and answer (yes/no)")
        elif not self.text.strip() and not self.files:
            raise ValueError("write something or attach a file")
        return self


class FollowUpSent(_Msg):
    follow_up_id: UUID
    kind: FollowUpKind
    sent_on: date
    attachments: int


SURVEY_QUESTIONS = ("fair", "respectful", "recommend")


class SurveyAnswers(_Msg):
    """After a decision, the reporter rates the process once (1 = not at all, 5 = fully). The
    scores are counted per organisation and quarter, never stored with the report."""

    reference: str = Field(min_length=1, max_length=32)
    receipt: str = Field(min_length=1, max_length=64)
    fair: int = Field(ge=1, le=5, description="was the process fair to you?")
    respectful: int = Field(ge=1, le=5, description="were you treated with respect?")
    recommend: int = Field(ge=1, le=5, description="would you tell a friend to use it?")


class SurveyThanks(_Msg):
    counted: Literal[True] = True


class SatisfactionQuery(_Msg):
    actor: Actor


class SatisfactionRow(_Msg):
    organisation: str
    quarter: str = Field(examples=["2026-Q4"])
    responses: int | None = Field(description="null when fewer than 5 (suppressed)")
    suppressed: bool
    averages: dict[str, float | None] = {}


class Satisfaction(_Msg):
    items: list[SatisfactionRow]


RemedyKind = Literal["labour-conciliation", "tribunal", "small-claims", "court",
                     "embassy-consulate", "government-hotline", "cso-hotline", "legal-aid",
                     "police"]


class RemedyQuery(_Msg):
    """Which remedy routes a worker has: where they work, where they come from, what happened."""

    destination: str = Field(pattern=r"^[A-Z]{2}$")
    origin: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    issues: list[str] = Field(default=[], max_length=20)
    language: str = Field(default="en", min_length=2, max_length=16)


class RemedyRoute(_Msg):
    """One place a worker can take a grievance, with the official page it is based on."""

    id: str
    country: str
    kind: RemedyKind
    name: str
    available_in: list[str]
    issues: list[str]
    how: str
    contact: str
    cost: str
    source: str
    checked_on: date
    note: str | None = None


class EditRemedy(_Msg):
    """The worker committee corrects a remedy route, adds one, or (route None) withdraws one
    that no longer exists. The data files in the repository stay the starting point."""

    actor: Actor
    route_id: str = Field(min_length=1, max_length=80)
    route: RemedyRoute | None = None
    reason: str = Field(min_length=3, max_length=500, description="why, e.g. 'hotline number "
                        "changed, checked with the office on 2026-11-20'")


class RemedyRouteQuery(_Msg):
    route_id: str = Field(min_length=1, max_length=80)


class RemedyEdited(_Msg):
    route_id: str
    route: RemedyRoute | None
    edited_by: str
    edited_on: date
    reason: str


class RemedyRoutes(_Msg):
    """The remedy routes open to a worker, the most direct first."""

    destination: str
    origin: str | None
    routes: list[RemedyRoute]


# case-management
ISSUE_CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"  # an intake category's value
COUNTRY_OR_OTHER = r"^([A-Z]{2}|other)$"


class CaseListQuery(_Msg):
    """One page of the organisation's triage queue (high risk first, then the nearest
    deadline the case owes the reporter: acknowledgement, feedback or update), optionally
    filtered."""

    actor: Actor
    status: list[str] = Field(default=[], max_length=10, description=(
        "only cases in these lifecycle states"))
    risk: RiskLevel | None = Field(default=None, description="only cases of this risk level")
    assigned_to: str | None = Field(default=None, max_length=255, description=(
        "only cases assigned to this account; 'me' for the caller, 'nobody' for unassigned"))
    issue: str | None = Field(default=None, pattern=ISSUE_CODE, description=(
        "only cases about this issue (an intake category): as coded, or as the reporter chose "
        "while the case is not coded"))
    origin: str | None = Field(default=None, pattern=COUNTRY_OR_OTHER, description=(
        "only cases of workers from this country: the coded corridor, else as reported"))
    destination: str | None = Field(default=None, pattern=COUNTRY_OR_OTHER, description=(
        "only cases of workers working in this country: the coded corridor, else as reported"))
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=512, description=(
        "the `next_cursor` of the previous page"))


class CaseQuery(_Msg):
    actor: Actor
    case_id: UUID


class AcknowledgeCase(_Msg):
    actor: Actor
    case_id: UUID
    message: str = Field(min_length=1, max_length=4000)


class TransitionCase(_Msg):
    """Move a case along its lifecycle (see the transitions table); a decision (resolved, not
    upheld) records who decided, and an appeal (closed → in-assessment) must be decided by
    someone else."""

    actor: Actor
    case_id: UUID
    to: str = Field(min_length=1, max_length=32, examples=["in-assessment"])
    reason: str = Field(default="", max_length=2000)
    message: str | None = Field(default=None, max_length=4000, description=(
        "also tell the reporter, in their inbox"))


class AssignCase(_Msg):
    actor: Actor
    case_id: UUID
    handler: str | None = Field(default=None, max_length=200, description=(
        "the handler's account id; yourself when left out"))


RespondentKind = Literal["employer", "agency", "company", "other"]


class CodeCase(_Msg):
    """What the case is about, coded for learning and statistics: required before closing."""

    actor: Actor
    case_id: UUID
    issues: list[str] = Field(min_length=1, max_length=20)
    origin: str = Field(pattern=r"^([A-Z]{2}|other)$", description="the worker's country")
    destination: str = Field(pattern=r"^([A-Z]{2}|other)$", description="where they work")
    respondent: str = Field(min_length=1, max_length=200, description=(
        "the employer or agency complained about, as the organisation names it"))
    respondent_kind: RespondentKind


class MessageReporter(_Msg):
    actor: Actor
    case_id: UUID
    body: str = Field(min_length=1, max_length=4000)


class DeclareConflict(_Msg):
    """A handler declares a conflict of interest with a respondent: they are never assigned
    a case against it."""

    actor: Actor
    respondent: str = Field(min_length=1, max_length=200)


class ConflictsQuery(_Msg):
    actor: Actor


class ConflictView(_Msg):
    conflict_id: UUID
    respondent: str
    declared_on: date


class ConflictList(_Msg):
    items: list[ConflictView]


class SessionRef(_Msg):
    session_id: UUID = Field(description="a proposed session's id, or a booking's id")
    starts_at: datetime
    ends_at: datetime
    timezone: str
    mode: str
    cancelled: bool = Field(default=False, description=(
        "the booking was cancelled; the mediator proposes another time"))


class CaseSummary(_Msg):
    """A case as a handler sees it in a list; timestamps coarsened to the day."""

    case_id: UUID
    reference: str
    organisation: str
    status: str
    risk: RiskLevel
    risk_reasons: list[str]
    received_on: date
    acknowledge_by: date
    sessions: list[SessionRef] = []
    assigned_to: str | None = None
    shredded_on: date | None = Field(default=None, description=(
        "when retention deleted the case's data key: its content can no longer be read"))
    due: dict[str, date] = Field(default={}, description=(
        "the next deadlines: acknowledge, feedback (3 months after acknowledging), update "
        "(the reporter hears from us at least every 30 days)"))
    overdue: list[str] = Field(default=[], description="deadlines already missed")
    issues: list[str] = Field(default=[], description=(
        "what the case is about: the coded issues, else the categories the reporter chose"))
    origin: str | None = Field(default=None, description=(
        "the worker's country: coded, else as reported"))
    destination: str | None = Field(default=None, description=(
        "where the worker works: coded, else as reported"))


class CaseMessageView(_Msg):
    """A message on a case: the handler's to the reporter, or the reporter's own."""

    message_id: UUID
    author: str
    from_reporter: bool
    kind: str = Field(description="to-reporter, reply or information")
    body: str
    attachment_ids: list[UUID] = []
    sent_on: date


class CaseDetail(CaseSummary):
    """A case with the report's answers, for the handler it belongs to."""

    language: str
    answers: dict[str, Answer] = Field(description=(
        "the report's answers, without the identifying ones (see `sealed_identity`)"))
    identifying: list[str] = Field(default=[], description=(
        "the questions the form marks identifying: their answers are not in `answers`"))
    sealed_identity: list[str] = Field(default=[], description=(
        "the identifying questions this reporter answered: sealed apart, opened only with the "
        "reporter's recorded consent and a second person's approval (identity requests)"))
    messages: list[CaseMessageView] = []
    coded_issues: list[str] = []
    corridor_origin: str | None = None
    corridor_destination: str | None = None
    respondent: str | None = None
    respondent_kind: str | None = None
    decided_by: str | None = None
    appeal_against: str | None = None
    closed_on: date | None = None
    allowed_transitions: list[str] = Field(default=[], description=(
        "the statuses the case may move to next, from the lifecycle's transitions table; a "
        "move may still need more (closing needs the case coded, withdrawing and an appeal a "
        "reason, acknowledging a message to the reporter)"))


class CaseHistoryQuery(_Msg):
    actor: Actor
    case_id: UUID


class HistoryEntry(_Msg):
    """One line of a case's audit log, as staff see it: the day, never the time."""

    on: date
    actor: str = Field(description="a staff account id, or 'system' or 'reporter'")
    action: str = Field(description="e.g. open, read, assign, status:acknowledged, message")
    count: int = Field(default=1, ge=1, description=(
        "the same person did the same that day this many times in a row"))


class CaseHistory(_Msg):
    """What happened to a case and who read it, from its audit log."""

    events: list[HistoryEntry] = Field(description=(
        "every change, message and refusal, oldest first (reads are in `reads`)"))
    reads: list[HistoryEntry] = Field(description=(
        "who read the case (its content, referrals, shares or sealed identity), newest first"))
    left_out: int = Field(default=0, description=(
        "older entries not listed: the newest 500 events and 500 reads are"))


class CaseList(_Msg):
    items: list[CaseSummary]
    next_cursor: str | None = Field(default=None, description=(
        "pass it as `cursor` for the next page; null on the last page"))


# mediation-scheduling
SessionMode = Literal["in-person", "video", "phone"]


class ProposeSession(_Msg):
    actor: Actor
    case_id: UUID
    starts_at: datetime
    ends_at: datetime
    timezone: str = Field(min_length=1, max_length=64)
    mode: SessionMode = "in-person"

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must carry a UTC offset, e.g. 2026-12-06T10:00:00+08:00")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> ProposeSession:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class SessionView(SessionRef):
    case_id: UUID
    organisation: str
    status: str


# notification
class InboxQuery(_Msg):
    submission_id: UUID


class InboxMessage(_Msg):
    message_id: UUID
    body: str
    sent_on: date
    sender: str = "your case handler"
    from_reporter: bool = Field(default=False, description="the reporter's own reply or added "
                                "information, so the inbox reads as a conversation")
    attachments: int = 0
    kind: Literal["message", "check-in-question", "check-in-answer"] = "message"
    answered: bool = Field(default=False, description="for a question: the reporter answered")
    deleted: bool = Field(default=False, description=(
        "the text was deleted under the retention policy: `body` is empty"))


class Inbox(_Msg):
    messages: list[InboxMessage]


class HealthQuery(_Msg):
    """Readiness probe: no fields."""


class Health(_Msg):
    service: str
    database: Literal["ok"]
