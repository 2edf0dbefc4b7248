"""Every NATS subject Suara uses, spelled once.

Subjects carry ids of nothing and names of no one: they name an operation or an event type only.
A breaking change adds `.v2`; producers publish both until consumers have moved.
"""

from __future__ import annotations

from typing import Final

EVENTS_STREAM: Final = "SUARA_EVENTS"
EVENTS_SUBJECTS: Final = "suara.evt.>"
DLQ_STREAM: Final = "SUARA_DLQ"
DLQ_PREFIX: Final = "suara.dlq"


class Rpc:
    """Request-reply subjects, served by each service in queue group `q` (nats.micro)."""

    INTAKE: Final = "suara.rpc.intake.v1"
    INTAKE_SUBMIT: Final = f"{INTAKE}.submit"
    INTAKE_CHECK: Final = f"{INTAKE}.check"
    INTAKE_STATUS: Final = f"{INTAKE}.status"
    INTAKE_FORM: Final = f"{INTAKE}.form"
    INTAKE_FORM_VERSIONS: Final = f"{INTAKE}.form-versions"
    INTAKE_FORM_VERSION: Final = f"{INTAKE}.form-version"
    INTAKE_FORM_DRAFT: Final = f"{INTAKE}.form-draft"
    INTAKE_FORM_APPROVE: Final = f"{INTAKE}.form-approve"
    INTAKE_SUBMIT_ON_BEHALF: Final = f"{INTAKE}.submit-on-behalf"
    INTAKE_CLAIM: Final = f"{INTAKE}.claim"
    INTAKE_REISSUE_CLAIM: Final = f"{INTAKE}.reissue-claim"
    INTAKE_FOLLOW_UP: Final = f"{INTAKE}.follow-up"
    INTAKE_SURVEY: Final = f"{INTAKE}.survey"
    INTAKE_REMEDIES: Final = f"{INTAKE}.remedies"
    INTAKE_REMEDY: Final = f"{INTAKE}.remedy"
    INTAKE_REMEDY_EDIT: Final = f"{INTAKE}.remedy-edit"
    INTAKE_HEALTH: Final = f"{INTAKE}.health"

    CASES: Final = "suara.rpc.cases.v1"
    CASES_LIST: Final = f"{CASES}.list"
    CASES_GET: Final = f"{CASES}.get"
    CASES_HISTORY: Final = f"{CASES}.history"
    CASES_ACKNOWLEDGE: Final = f"{CASES}.acknowledge"
    CASES_TRANSITION: Final = f"{CASES}.transition"
    CASES_ASSIGN: Final = f"{CASES}.assign"
    CASES_CODE: Final = f"{CASES}.code"
    CASES_MESSAGE: Final = f"{CASES}.message"
    CASES_DECLARE_CONFLICT: Final = f"{CASES}.declare-conflict"
    CASES_CONFLICTS: Final = f"{CASES}.conflicts"
    CASES_SATISFACTION: Final = f"{CASES}.satisfaction"
    CASES_STATISTICS: Final = f"{CASES}.statistics"
    CASES_HEALTH: Final = f"{CASES}.health"
    # referrals and transfers between organisations (suara_contracts.referrals)
    CASES_REFERRAL_DIRECTORY: Final = f"{CASES}.referral-directory"
    CASES_REFERRAL_CONSENT: Final = f"{CASES}.referral-consent"
    CASES_REFERRAL_CONSENT_WITHDRAW: Final = f"{CASES}.referral-consent-withdraw"
    CASES_REFERRAL_CREATE: Final = f"{CASES}.referral-create"
    CASES_REFERRAL_LIST: Final = f"{CASES}.referral-list"
    CASES_REFERRAL_GET: Final = f"{CASES}.referral-get"
    CASES_REFERRAL_OF_CASE: Final = f"{CASES}.referral-of-case"
    CASES_REFERRAL_MOVE: Final = f"{CASES}.referral-move"
    CASES_IDENTITY_REQUEST: Final = f"{CASES}.identity-request"
    CASES_IDENTITY_REQUESTS: Final = f"{CASES}.identity-requests"
    CASES_IDENTITY_PENDING: Final = f"{CASES}.identity-pending"
    CASES_IDENTITY_DECIDE: Final = f"{CASES}.identity-decide"
    CASES_IDENTITY_OPEN: Final = f"{CASES}.identity-open"
    # an employer liaison's redacted case summaries (suara_contracts.liaison)
    CASES_LIAISON_SHARE: Final = f"{CASES}.liaison-share"
    CASES_LIAISON_SHARES: Final = f"{CASES}.liaison-shares"
    CASES_LIAISON_REVOKE: Final = f"{CASES}.liaison-revoke"
    CASES_LIAISON_LIST: Final = f"{CASES}.liaison-list"
    CASES_LIAISON_GET: Final = f"{CASES}.liaison-get"

    MEDIATION: Final = "suara.rpc.mediation.v1"
    MEDIATION_PROPOSE: Final = f"{MEDIATION}.propose"
    # resources, mediations, holds and bookings (suara_contracts.mediation)
    MEDIATION_RESOURCES: Final = f"{MEDIATION}.resources"
    MEDIATION_RESOURCE_CREATE: Final = f"{MEDIATION}.resource-create"
    MEDIATION_RESOURCE_UPDATE: Final = f"{MEDIATION}.resource-update"
    MEDIATION_CREATE: Final = f"{MEDIATION}.mediation-create"
    MEDIATION_OF_CASE: Final = f"{MEDIATION}.mediations-of-case"
    MEDIATION_GET: Final = f"{MEDIATION}.mediation-get"
    MEDIATION_HOLD: Final = f"{MEDIATION}.hold"
    MEDIATION_BOOK: Final = f"{MEDIATION}.book"
    MEDIATION_CONFIRM: Final = f"{MEDIATION}.confirm"
    MEDIATION_RESCHEDULE: Final = f"{MEDIATION}.reschedule"
    MEDIATION_CANCEL: Final = f"{MEDIATION}.cancel"
    MEDIATION_RESPOND: Final = f"{MEDIATION}.respond"
    MEDIATION_NO_SHOW: Final = f"{MEDIATION}.no-show"
    MEDIATION_BOOKING_GET: Final = f"{MEDIATION}.booking-get"
    MEDIATION_BOOKINGS: Final = f"{MEDIATION}.bookings"
    MEDIATION_LIST: Final = f"{MEDIATION}.mediations"
    MEDIATION_PROPOSE_SLOTS: Final = f"{MEDIATION}.propose-slots"
    MEDIATION_INVITE: Final = f"{MEDIATION}.invite"
    MEDIATION_AGREEMENT_DRAFT: Final = f"{MEDIATION}.agreement-draft"
    MEDIATION_AGREEMENT_GET: Final = f"{MEDIATION}.agreement-get"
    MEDIATION_AGREEMENTS_OF_CASE: Final = f"{MEDIATION}.agreements-of-case"
    MEDIATION_AGREEMENT_ACKNOWLEDGE: Final = f"{MEDIATION}.agreement-acknowledge-options"
    MEDIATION_AGREEMENT_SIGN: Final = f"{MEDIATION}.agreement-sign"
    MEDIATION_AGREEMENT_COMPLIANCE: Final = f"{MEDIATION}.agreement-compliance"
    # session notes (suara_contracts.notes) and the parties' vote (suara_contracts.ballots)
    MEDIATION_NOTE_WRITE: Final = f"{MEDIATION}.note-write"
    MEDIATION_NOTES: Final = f"{MEDIATION}.notes"
    MEDIATION_BALLOT_CREATE: Final = f"{MEDIATION}.ballot-create"
    MEDIATION_BALLOT_VOTE: Final = f"{MEDIATION}.ballot-vote"
    MEDIATION_BALLOT_GET: Final = f"{MEDIATION}.ballot-get"
    MEDIATION_BALLOT_CLOSE: Final = f"{MEDIATION}.ballot-close"
    MEDIATION_HEALTH: Final = f"{MEDIATION}.health"

    NOTIFICATION: Final = "suara.rpc.notification.v1"
    NOTIFICATION_INBOX: Final = f"{NOTIFICATION}.inbox"
    # the case handlers' team alerts (suara_contracts.alerts)
    NOTIFICATION_ALERTS: Final = f"{NOTIFICATION}.alerts"
    NOTIFICATION_ALERT_ACKNOWLEDGE: Final = f"{NOTIFICATION}.alert-acknowledge"
    # partner webhooks (suara_contracts.webhooks)
    NOTIFICATION_WEBHOOK_CREATE: Final = f"{NOTIFICATION}.webhook-create"
    NOTIFICATION_WEBHOOK_LIST: Final = f"{NOTIFICATION}.webhook-list"
    NOTIFICATION_WEBHOOK_GET: Final = f"{NOTIFICATION}.webhook-get"
    NOTIFICATION_WEBHOOK_UPDATE: Final = f"{NOTIFICATION}.webhook-update"
    NOTIFICATION_WEBHOOK_DELETE: Final = f"{NOTIFICATION}.webhook-delete"
    NOTIFICATION_WEBHOOK_ROTATE: Final = f"{NOTIFICATION}.webhook-rotate"
    NOTIFICATION_WEBHOOK_DELIVERIES: Final = f"{NOTIFICATION}.webhook-deliveries"
    NOTIFICATION_WEBHOOK_REPLAY: Final = f"{NOTIFICATION}.webhook-replay"
    # preferences: a staff member's own, a reporter's nudge contact (suara_contracts.notifications)
    NOTIFICATION_STAFF_GET: Final = f"{NOTIFICATION}.staff-preferences"
    NOTIFICATION_STAFF_SET: Final = f"{NOTIFICATION}.staff-preferences-set"
    NOTIFICATION_STAFF_FORGET: Final = f"{NOTIFICATION}.staff-preferences-forget"
    NOTIFICATION_CONTACT_GET: Final = f"{NOTIFICATION}.contact"
    NOTIFICATION_CONTACT_SET: Final = f"{NOTIFICATION}.contact-set"
    NOTIFICATION_CONTACT_REMOVE: Final = f"{NOTIFICATION}.contact-remove"
    NOTIFICATION_HEALTH: Final = f"{NOTIFICATION}.health"


HEALTH_SUBJECTS: Final = {
    "intake": Rpc.INTAKE_HEALTH,
    "case-management": Rpc.CASES_HEALTH,
    "mediation-scheduling": Rpc.MEDIATION_HEALTH,
    "notification": Rpc.NOTIFICATION_HEALTH,
}


class Evt:
    """JetStream event subjects: `suara.evt.<producer>.<entity>.<fact>.v<N>`."""

    SUBMISSION_RECEIVED: Final = "suara.evt.intake.submission.received.v1"
    REPORTER_FOLLOW_UP: Final = "suara.evt.intake.follow-up.received.v1"
    SURVEY_ANSWERED: Final = "suara.evt.intake.survey.answered.v1"
    CASE_OPENED: Final = "suara.evt.cases.case.opened.v1"
    CASE_STATUS_CHANGED: Final = "suara.evt.cases.case.status-changed.v1"
    REPORTER_MESSAGE: Final = "suara.evt.cases.reporter-message.sent.v1"
    DEADLINE_BREACHED: Final = "suara.evt.cases.deadline.breached.v1"
    CLUSTER_DETECTED: Final = "suara.evt.cases.cluster.detected.v1"
    CASE_SHREDDED: Final = "suara.evt.cases.case.shredded.v1"
    SESSION_PROPOSED: Final = "suara.evt.mediation.session.proposed.v1"
    OBLIGATION_MISSED: Final = "suara.evt.mediation.obligation.missed.v1"
    SESSION_BOOKED: Final = "suara.evt.mediation.session.booked.v1"
    SESSION_RESCHEDULED: Final = "suara.evt.mediation.session.rescheduled.v1"
    SESSION_CANCELLED: Final = "suara.evt.mediation.session.cancelled.v1"
    PARTY_RESPONDED: Final = "suara.evt.mediation.party.responded.v1"
    PARTY_NO_SHOW: Final = "suara.evt.mediation.party.no-show.v1"
    REFERRAL_CREATED: Final = "suara.evt.cases.referral.created.v1"
    REFERRAL_ACCEPTED: Final = "suara.evt.cases.referral.accepted.v1"
    REFERRAL_REJECTED: Final = "suara.evt.cases.referral.rejected.v1"
    REFERRAL_COMPLETED: Final = "suara.evt.cases.referral.completed.v1"
    REFERRAL_REVOKED: Final = "suara.evt.cases.referral.revoked.v1"


def dlq_subject(consumer: str) -> str:
    """Where the poison events of one durable consumer are parked."""
    return f"{DLQ_PREFIX}.{consumer}"
