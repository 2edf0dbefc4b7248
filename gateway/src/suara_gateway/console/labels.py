"""What the case pages call things, in the staff member's language: statuses, risks, deadlines,
people, the audit log's actions, dates and the time left to a deadline. Names only: every rule
(which move is allowed, what a referral needs) stays in the services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from babel import Locale, UnknownLocaleError
from babel.dates import format_date

from suara_contracts.rpc import CaseSummary, FormDefinition
from suara_gateway.console.i18n import N_, translations
from suara_gateway.i18n import Language

STATUSES = {
    "received": N_("Received"), "acknowledged": N_("Acknowledged"),
    "in-assessment": N_("In assessment"), "referred": N_("Referred"),
    "in-mediation": N_("In mediation"), "in-resolution": N_("Being resolved"),
    "resolved": N_("Resolved"), "not-upheld": N_("Not upheld"), "withdrawn": N_("Withdrawn"),
    "closed": N_("Closed"),
}
RISK_REASONS = {
    "document-retention": N_("documents kept by someone else"),
    "confinement": N_("not allowed to leave"), "retaliation": N_("punished for complaining"),
    "not-safe-now": N_("not safe now"),
}
DEADLINES = {"acknowledge": N_("Acknowledge"), "feedback": N_("Feedback to the reporter"),
             "update": N_("Update to the reporter")}
RESPONDENT_KINDS = {"employer": N_("Employer (household or company)"),
                    "agency": N_("Recruitment agency"), "company": N_("Company or factory"),
                    "other": N_("Someone else")}
SHARE_PROFILES = {
    "minimal": N_("Minimal: what happened and the corridor"),
    "standard": N_("Standard: the answers without identifying ones, and the language"),
    "full": N_("Full: everything, identifying answers included"),
}
REFERRAL_TYPES = {"referral": N_("Referral (share the case)"),
                  "transfer": N_("Transfer (hand the case over)")}
REFERRAL_STATUSES = {"pending": N_("Waiting for an answer"), "accepted": N_("Accepted"),
                     "rejected": N_("Rejected"), "done": N_("Done"), "revoked": N_("Revoked")}
MESSAGE_KINDS = {"to-reporter": N_("To the reporter"), "reply": N_("The reporter replied"),
                 "information": N_("The reporter added information"),
                 "check-in": N_("The reporter answered a check-in"),
                 "status-note": N_("Note with a status change (not sent to the reporter)")}
ACTIONS = {
    "open": N_("Case opened from the report"), "read": N_("Read the case"),
    "referral-read": N_("Read the referrals"), "identity-read": N_("Opened the sealed identity"),
    "liaison-read": N_("Employer liaison read the shared summary"),
    "liaison-shares-read": N_("Read the employer liaison shares"),
    "liaison-list": N_("Employer liaison listed the shared cases"),
    "assign": N_("Assigned the case"),
    "assign-refused:conflict": N_("Assignment refused: conflict of interest"),
    "unassign:conflict": N_("Unassigned: conflict of interest with the respondent"),
    "message": N_("Wrote to the reporter"), "code": N_("Coded the case"),
    "reporter-reply": N_("The reporter replied"),
    "reporter-information": N_("The reporter added information"),
    "reporter-check-in": N_("The reporter answered a check-in"),
    "cluster-alert": N_("Cluster alert: several cases against this respondent"),
    "consent-record": N_("Recorded the reporter's consent"),
    "consent-withdraw": N_("Recorded that the reporter withdrew consent"),
    "consent-override": N_("Referred without consent (override)"),
    "consent-override-refused": N_("Override of consent refused"),
    "referral-create": N_("Referred the case"), "transfer-create": N_("Transferred the case"),
    "referral-open": N_("Opened a case from a referral"),
    "referral-withdrawn": N_("A referral was withdrawn"),
    "identity-request": N_("Asked to open the sealed identity"),
    "identity-approved": N_("Approved opening the sealed identity"),
    "identity-refused": N_("Refused opening the sealed identity"),
    "identity-read-refused": N_("Reading the sealed identity was refused"),
    "identity-self-approval-refused": N_("Approving one's own identity request was refused"),
    "liaison-share": N_("Shared a summary with an employer liaison"),
    "liaison-revoke": N_("Revoked an employer liaison share"),
    "liaison-read-refused": N_("An employer liaison was refused the summary"),
    "session-proposed": N_("A mediation session was proposed"),
    "session-booked": N_("A mediation session was booked"),
    "session-rescheduled": N_("A mediation session was moved"),
    "session-cancelled": N_("A mediation session was cancelled"),
    "session-accepted": N_("A party accepted the mediation session"),
    "session-declined": N_("A party declined the mediation session"),
    "session-no-show": N_("A party did not come to the mediation session"),
    "referral-accept": N_("The partner accepted the referral"),
    "referral-reject": N_("The partner rejected the referral"),
    "referral-complete": N_("The partner completed the referral"),
    "referral-revoke": N_("The referral was revoked"),
    "transfer-accept": N_("The partner accepted the transfer"),
    "transfer-reject": N_("The partner rejected the transfer"),
    "transfer-complete": N_("The partner completed the transfer"),
    "transfer-revoke": N_("The transfer was revoked"),
    "check-in:yes": N_("Check-in answer: yes, punished for complaining"),
    "check-in:no": N_("Check-in answer: no"),
    "check-in:sent": N_("Check-in question sent to the reporter"),
    "reopen:retaliation": N_("Reopened: the reporter was punished for complaining"),
    "shred": N_("Content deleted at the end of retention"),
}
ACTION_PREFIXES = {  # the rest is a status, or a code shown as it is
    "status:": N_("Status changed to %(what)s"), "appeal:": N_("Reopened on appeal: %(what)s"),
    "obligation-missed:": N_("Agreement obligation missed: %(what)s"),
}


@dataclass(frozen=True)
class Deadline:
    """One deadline of a case as a handler reads it."""

    kind: str
    label: str
    on: date
    days: int  # days left; negative when overdue
    overdue: bool
    left: str  # "3 days left", "overdue by 2 days"


class Labels:
    """The names the case pages show, in one staff language; `form` (the current intake form
    in that language) names issues, questions and countries when intake answers."""

    def __init__(self, language: Language, me: str, form: FormDefinition | None = None) -> None:
        self.language, self.me = language, me
        self._ = translations(language).gettext
        try:
            self._locale: Locale | None = Locale.parse(language.locale)
        except (UnknownLocaleError, ValueError):
            self._locale = None
        fields = {f.name: f for f in form.fields} if form else {}
        self.fields = fields
        self.issue_choices = [(c.value, c.label) for c in fields["categories"].choices] \
            if "categories" in fields else []
        self.origin_choices = [(c.value, c.label) for c in fields["origin"].choices] \
            if "origin" in fields else []
        self.destination_choices = [(c.value, c.label) for c in fields["country"].choices] \
            if "country" in fields else []
        self._countries = dict(self.destination_choices) | dict(self.origin_choices)

    def t(self, text: str, **values: object) -> str:
        """A catalog string translated, its placeholders filled."""
        translated = self._(text)
        return translated % values if values else translated

    def _from(self, names: dict[str, str], value: str | None) -> str:
        return self._(names[value]) if value in names else (value or "")

    def status(self, value: str) -> str:
        return self._from(STATUSES, value)

    def risk_reason(self, value: str) -> str:
        return self._from(RISK_REASONS, value)

    def respondent_kind(self, value: str | None) -> str:
        return self._from(RESPONDENT_KINDS, value)

    def share_profile(self, value: str) -> str:
        return self._from(SHARE_PROFILES, value)

    def referral_type(self, value: str) -> str:
        return self._from(REFERRAL_TYPES, value)

    def referral_status(self, value: str) -> str:
        return self._from(REFERRAL_STATUSES, value)

    def message_kind(self, value: str) -> str:
        return self._from(MESSAGE_KINDS, value)

    def issue(self, value: str) -> str:
        return dict(self.issue_choices).get(value, value)

    def country(self, value: str | None) -> str:
        """A country code's name (the form's, else the locale's); 'other' as such."""
        if not value:
            return self._(N_("not known"))
        if value == "other":
            return self._(N_("another country"))
        if value in self._countries:
            return self._countries[value]
        named = self._locale.territories.get(value) if self._locale else None
        return str(named) if named else value

    def question(self, name: str) -> str:
        return self.fields[name].label if name in self.fields else name

    def answer(self, name: str, value: str | list[str]) -> list[str]:
        """An answer's lines, choices by their labels."""
        values = value if isinstance(value, list) else [value]
        field = self.fields.get(name)
        if field is not None and field.kind == "file":
            return [self.t(N_("Files: %(count)s (kept sealed)"), count=len(values))]
        if field is not None and field.choices:
            labels = {c.value: c.label for c in field.choices}
            return [labels.get(v, v) for v in values]
        return [str(v) for v in values]

    def person(self, account: str | None) -> str:
        """Who did something: you, a colleague (by account id), the system or the reporter."""
        if account is None:
            return self._(N_("Unassigned"))
        if account == self.me:
            return self._(N_("You"))
        if account == "system":
            return self._(N_("Suara (automatic)"))
        if account == "reporter":
            return self._(N_("The reporter"))
        return self.t(N_("Colleague %(account)s"), account=account[:8])

    def action(self, code: str) -> str:
        """An audit log action in words."""
        if code in ACTIONS:
            return self._(ACTIONS[code])
        for prefix, text in ACTION_PREFIXES.items():
            if code.startswith(prefix):
                rest = code[len(prefix):]
                return self.t(text, what=self.status(rest) if rest in STATUSES else rest)
        return code

    def day(self, value: date) -> str:
        """A date, day month year, in the staff language."""
        return format_date(value, "d MMM y", locale=self._locale or "en")

    def deadlines(self, case: CaseSummary, today: date) -> list[Deadline]:
        """The case's deadlines, the nearest first."""
        found = [self._deadline(kind, on, today, kind in case.overdue)
                 for kind, on in case.due.items()]
        return sorted(found, key=lambda d: d.on)

    def _deadline(self, kind: str, on: date, today: date, overdue: bool) -> Deadline:
        days = (on - today).days
        if days < -1:
            left = self.t(N_("overdue by %(days)s days"), days=-days)
        elif days == -1:
            left = self.t(N_("overdue by 1 day"))
        elif days == 0:
            left = self.t(N_("due today"))
        elif days == 1:
            left = self.t(N_("due tomorrow"))
        else:
            left = self.t(N_("%(days)s days left"), days=days)
        return Deadline(kind, self._from(DEADLINES, kind), on, days, overdue or days < 0, left)
