"""iCalendar invitations for a mediation session: one file per recipient (RFC 5545 / 5546).

Who sees what is decided here, not by the caller: the worker side exists only as an alias (the
data model has no other field for it); the mediator's copy names every other party; everyone
else's copy names only themselves and the organiser, and shows the other parties as role labels
behind opaque addresses. Case details reach the mediator's copy only.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar, Literal
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import CLASS, CUTYPE, PARTSTAT, ROLE, STATUS, Calendar, Event, vCalAddress

from suara_contracts.rpc import SessionMode
from suara_kit.clock import utcnow

PRODID = "-//Suara//Mediation scheduling//EN"
UID_DOMAIN = "suara.example"
Method = Literal["REQUEST", "CANCEL"]


class Role(StrEnum):
    WORKER = "worker"
    REPRESENTATIVE = "representative"
    EMPLOYER = "employer"
    INTERPRETER = "interpreter"
    MEDIATOR = "mediator"
    OBSERVER = "observer"


@dataclass(frozen=True, slots=True)
class Worker:
    """The worker, known to the calendar only by the alias used in mediation."""

    alias: str
    role: ClassVar[Role] = Role.WORKER


@dataclass(frozen=True, slots=True)
class Representative:
    """Someone acting for the worker, also known only by an alias."""

    alias: str
    role: ClassVar[Role] = Role.REPRESENTATIVE


@dataclass(frozen=True, slots=True)
class Party:
    """Anyone else at the table: employer side, interpreter, mediator or CSO observer."""

    role: Role
    name: str
    email: str | None = None
    language: str | None = None  # an interpreter's language, shown in their role label

    def __post_init__(self) -> None:
        if self.role in (Role.WORKER, Role.REPRESENTATIVE):
            raise ValueError("the worker side is a Worker or Representative, known by alias only")


Attendee = Worker | Representative | Party


@dataclass(frozen=True, slots=True)
class Organiser:
    """The mediator's display name and the organisation's mediation mailbox."""

    name: str
    mailbox: str  # e.g. mediation@<organisation>.suara.example, never a person's address


@dataclass(frozen=True, slots=True)
class SessionInvite:
    """One mediation session as every invitation for it describes it."""

    session_id: UUID
    sequence: int  # the caller bumps it on every reschedule and cancellation
    starts_at: datetime
    ends_at: datetime
    mode: SessionMode
    organisation: str  # the CSO's display name, the only name in the title
    organiser: Organiser
    attendees: tuple[Attendee, ...]
    location: str | None = None  # an address, a video link, or nothing
    location_roles: frozenset[Role] = field(default_factory=lambda: frozenset(Role))
    case_reference: str | None = None  # mediator's copy only
    notes: str | None = None  # mediator's copy only

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("session times must be timezone-aware")
        if self.ends_at <= self.starts_at:
            raise ValueError("a session must end after it starts")
        if self.sequence < 0:
            raise ValueError("SEQUENCE cannot be negative")
        if "@" not in self.organiser.mailbox:
            raise ValueError("the organiser needs a mailbox")

    @property
    def uid(self) -> str:
        """The UID every copy, reschedule and cancellation of this session shares."""
        return f"{self.session_id}@{UID_DOMAIN}"


@dataclass(frozen=True, slots=True)
class Recipient:
    """Whom one copy is for: one of the session's attendees, their time zone and language."""

    attendee: Attendee
    timezone: str
    language: str = "en"


def invitation(session: SessionInvite, recipient: Recipient, method: Method, *,
               stamp: datetime | None = None) -> bytes:
    """One recipient's iCalendar file for a session: METHOD:REQUEST or METHOD:CANCEL."""
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported METHOD {method!r}")
    if recipient.attendee not in session.attendees:
        raise ValueError("the recipient is not one of the session's attendees")
    zone, lang = _zone(recipient.timezone), language(recipient.language)
    event = Event.new(
        uid=session.uid, sequence=session.sequence, stamp=stamp or utcnow(),
        start=session.starts_at.astimezone(zone), end=session.ends_at.astimezone(zone),
        summary=f"{_text(lang, 'session')} · {session.organisation}",
        description=_description(session, recipient, method, lang),
        location=session.location if recipient.attendee.role in session.location_roles else None,
        organizer=_organiser(session, recipient, lang),
        attendees=[_address(session, i, a, recipient, lang)
                   for i, a in enumerate(session.attendees)],
        classification=CLASS.PRIVATE,
        status=STATUS.CANCELLED if method == "CANCEL" else None)
    for name in ("SUMMARY", "DESCRIPTION"):
        event[name].params["LANGUAGE"] = lang.replace("_", "-")
    calendar = Calendar()
    calendar.prodid, calendar.version, calendar.method = PRODID, "2.0", method
    calendar.add_component(event)
    # A VTIMEZONE covering only the session's days: one observance (two on a switch day) and
    # no RDATE lists, which Outlook reads badly.
    first, last = (t.astimezone(zone).date() for t in (session.starts_at, session.ends_at))
    calendar.add_missing_timezones(first_date=first, last_date=last + timedelta(days=1))
    return calendar.to_ical()


def language(code: str) -> str:
    """The supported language closest to a BCP 47 / gettext code; English if none is."""
    return _supported(code) or "en"


def _supported(code: str) -> str | None:
    key = code.replace("-", "_").lower()
    for candidate in (key, key.split("_")[0]):
        found = _LOWER.get(_ALIASES.get(candidate, candidate))
        if found:
            return found
    return None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _sees_everyone(recipient: Recipient) -> bool:
    return recipient.attendee.role is Role.MEDIATOR


def _worker_side(recipient: Recipient) -> bool:
    return recipient.attendee.role in (Role.WORKER, Role.REPRESENTATIVE)


def _organiser(session: SessionInvite, recipient: Recipient, lang: str) -> vCalAddress:
    # The worker's copy names nobody, the mediator included: a role label and a team mailbox.
    name = _label(Role.MEDIATOR, None, lang) if _worker_side(recipient) else session.organiser.name
    return vCalAddress.new(session.organiser.mailbox, cn=_printable(name))


def _printable(name: str) -> str:
    """A name as a parameter value may carry it: RFC 5545 allows no control characters there
    (readers dropped the attendee), so each becomes a space; a new line travels (RFC 6868)."""
    return "".join(" " if ch != "\n" and unicodedata.category(ch) == "Cc" else ch for ch in name)


def _address(session: SessionInvite, index: int, attendee: Attendee, recipient: Recipient,
             lang: str) -> vCalAddress:
    """An ATTENDEE as this recipient may see it."""
    shown = attendee == recipient.attendee or _sees_everyone(recipient)
    if isinstance(attendee, Party) and shown:
        name, email = attendee.name, attendee.email
    elif isinstance(attendee, Party):
        name, email = _label(attendee.role, attendee.language, lang), None
    else:
        name, email = attendee.alias, None
    address = vCalAddress(f"mailto:{email}" if email else
                          f"urn:uuid:{uuid5(session.session_id, f'attendee/{index}')}")
    role = _ROLES.get(attendee.role, ROLE.REQ_PARTICIPANT)
    address.params.update({"CN": _printable(name), "CUTYPE": CUTYPE.INDIVIDUAL, "ROLE": role,
                           "PARTSTAT": PARTSTAT.NEEDS_ACTION, "RSVP": "FALSE"})
    return address


def _description(session: SessionInvite, recipient: Recipient, method: Method, lang: str) -> str:
    if method == "CANCEL":
        lines = [_text(lang, "cancelled")]
    else:
        mode = _text(lang, f"mode.{session.mode}")
        lines = [_text(lang, "format").format(mode=mode), _text(lang, "respond")]
    if _sees_everyone(recipient):
        if session.case_reference:
            lines.append(_text(lang, "case").format(ref=session.case_reference))
        if session.notes:
            lines.append(session.notes)
    return "\n".join(lines)


def _label(role: Role, spoken: str | None, lang: str) -> str:
    if role is Role.INTERPRETER and spoken:
        name = AUTONYMS.get(_supported(spoken) or "", spoken)
        return _text(lang, "role.interpreter_in").format(language=name)
    return _text(lang, f"role.{role}")


def _text(lang: str, key: str) -> str:
    return TEXT[lang].get(key) or TEXT["en"][key]


_ROLES = {Role.MEDIATOR: ROLE.CHAIR, Role.OBSERVER: ROLE.NON_PARTICIPANT}

# Each language's name in itself, as the language picker shows it.
AUTONYMS = {"en": "English", "id": "Bahasa Indonesia", "fil": "Filipino", "ms": "Bahasa Melayu",
            "th": "ภาษาไทย", "vi": "Tiếng Việt", "km": "ភាសាខ្មែរ", "my": "မြန်မာဘာသာ",
            "zh_Hant": "繁體中文"}

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "session": "Mediation session",
        "mode.in-person": "in person", "mode.video": "video call", "mode.phone": "phone call",
        "format": "Format: {mode}",
        "respond": "To accept, decline or ask for another time, reply in Suara.",
        "cancelled": "This session has been cancelled.",
        "case": "Case reference: {ref}",
        "role.worker": "Worker", "role.representative": "Worker's representative",
        "role.employer": "Employer side", "role.interpreter": "Interpreter",
        "role.interpreter_in": "Interpreter ({language})", "role.mediator": "Mediator",
        "role.observer": "Observer",
    },
    "id": {
        "session": "Sesi mediasi",
        "mode.in-person": "tatap muka", "mode.video": "panggilan video",
        "mode.phone": "panggilan telepon",
        "format": "Bentuk: {mode}",
        "respond": "Untuk menerima, menolak, atau meminta waktu lain, balas melalui Suara.",
        "cancelled": "Sesi ini telah dibatalkan.",
        "case": "Nomor kasus: {ref}",
        "role.worker": "Pekerja", "role.representative": "Perwakilan pekerja",
        "role.employer": "Pihak pemberi kerja", "role.interpreter": "Juru bahasa",
        "role.interpreter_in": "Juru bahasa ({language})", "role.mediator": "Mediator",
        "role.observer": "Pengamat",
    },
    "fil": {
        "session": "Sesyon ng mediasyon",
        "mode.in-person": "harapan", "mode.video": "video call", "mode.phone": "tawag sa telepono",
        "format": "Paraan: {mode}",
        "respond": "Para tanggapin, tanggihan, o humiling ng ibang oras, sumagot sa Suara.",
        "cancelled": "Kinansela ang sesyong ito.",
        "case": "Numero ng kaso: {ref}",
        "role.worker": "Manggagawa", "role.representative": "Kinatawan ng manggagawa",
        "role.employer": "Panig ng employer", "role.interpreter": "Interpreter",
        "role.interpreter_in": "Interpreter ({language})", "role.mediator": "Tagapamagitan",
        "role.observer": "Tagamasid",
    },
    "ms": {
        "session": "Sesi pengantaraan",
        "mode.in-person": "bersemuka", "mode.video": "panggilan video",
        "mode.phone": "panggilan telefon",
        "format": "Cara: {mode}",
        "respond": "Untuk menerima, menolak atau meminta masa lain, balas melalui Suara.",
        "cancelled": "Sesi ini telah dibatalkan.",
        "case": "Nombor kes: {ref}",
        "role.worker": "Pekerja", "role.representative": "Wakil pekerja",
        "role.employer": "Pihak majikan", "role.interpreter": "Jurubahasa",
        "role.interpreter_in": "Jurubahasa ({language})", "role.mediator": "Pengantara",
        "role.observer": "Pemerhati",
    },
    "th": {
        "session": "การประชุมไกล่เกลี่ย",
        "mode.in-person": "พบกันโดยตรง", "mode.video": "วิดีโอคอล", "mode.phone": "โทรศัพท์",
        "format": "รูปแบบ: {mode}",
        "respond": "หากต้องการตอบรับ ปฏิเสธ หรือขอเวลาอื่น โปรดตอบกลับใน Suara",
        "cancelled": "การประชุมนี้ถูกยกเลิกแล้ว",
        "case": "เลขที่เรื่อง: {ref}",
        "role.worker": "แรงงาน", "role.representative": "ผู้แทนแรงงาน",
        "role.employer": "ฝ่ายนายจ้าง", "role.interpreter": "ล่าม",
        "role.interpreter_in": "ล่าม ({language})", "role.mediator": "ผู้ไกล่เกลี่ย",
        "role.observer": "ผู้สังเกตการณ์",
    },
    "vi": {
        "session": "Buổi hòa giải",
        "mode.in-person": "gặp trực tiếp", "mode.video": "gọi video", "mode.phone": "gọi điện thoại",
        "format": "Hình thức: {mode}",
        "respond": "Để chấp nhận, từ chối hoặc đề nghị thời gian khác, hãy trả lời trong Suara.",
        "cancelled": "Buổi hòa giải này đã bị hủy.",
        "case": "Mã hồ sơ: {ref}",
        "role.worker": "Người lao động", "role.representative": "Người đại diện của người lao động",
        "role.employer": "Phía người sử dụng lao động", "role.interpreter": "Phiên dịch viên",
        "role.interpreter_in": "Phiên dịch viên ({language})", "role.mediator": "Hòa giải viên",
        "role.observer": "Quan sát viên",
    },
    # km: needs a native speaker's check.
    "km": {
        "session": "វគ្គសម្របសម្រួល",
        "mode.in-person": "ជួបផ្ទាល់", "mode.video": "ហៅជាវីដេអូ", "mode.phone": "ហៅទូរសព្ទ",
        "format": "ទម្រង់: {mode}",
        "respond": "ដើម្បីទទួលយក បដិសេធ ឬស្នើសុំពេលវេលាផ្សេង សូមឆ្លើយតបក្នុង Suara។",
        "cancelled": "វគ្គនេះត្រូវបានលុបចោលហើយ។",
        "case": "លេខករណី: {ref}",
        "role.worker": "កម្មករ", "role.representative": "តំណាងកម្មករ",
        "role.employer": "ភាគីនិយោជក", "role.interpreter": "អ្នកបកប្រែ",
        "role.interpreter_in": "អ្នកបកប្រែ ({language})", "role.mediator": "អ្នកសម្របសម្រួល",
        "role.observer": "អ្នកសង្កេតការណ៍",
    },
    # my: needs a native speaker's check.
    "my": {
        "session": "ညှိနှိုင်းဖျန်ဖြေရေး အစည်းအဝေး",
        "mode.in-person": "လူကိုယ်တိုင်", "mode.video": "ဗီဒီယိုခေါ်ဆိုမှု",
        "mode.phone": "ဖုန်းခေါ်ဆိုမှု",
        "format": "ပုံစံ: {mode}",
        "respond": "လက်ခံရန်၊ ငြင်းပယ်ရန် သို့မဟုတ် အခြားအချိန် တောင်းဆိုရန် Suara တွင် ပြန်ကြားပါ။",
        "cancelled": "ဤအစည်းအဝေးကို ပယ်ဖျက်လိုက်ပါပြီ။",
        "case": "အမှုအမှတ်: {ref}",
        "role.worker": "အလုပ်သမား", "role.representative": "အလုပ်သမား ကိုယ်စားလှယ်",
        "role.employer": "အလုပ်ရှင်ဘက်", "role.interpreter": "စကားပြန်",
        "role.interpreter_in": "စကားပြန် ({language})", "role.mediator": "ဖျန်ဖြေသူ",
        "role.observer": "လေ့လာသူ",
    },
    "zh_Hant": {
        "session": "調解會議",
        "mode.in-person": "親身出席", "mode.video": "視訊通話", "mode.phone": "電話",
        "format": "形式：{mode}",
        "respond": "如要接受、拒絕或要求另定時間，請在 Suara 回覆。",
        "cancelled": "此會議已取消。",
        "case": "個案編號：{ref}",
        "role.worker": "勞工", "role.representative": "勞工代表",
        "role.employer": "僱主方", "role.interpreter": "口譯員",
        "role.interpreter_in": "口譯員（{language}）", "role.mediator": "調解員",
        "role.observer": "觀察員",
    },
}
_LOWER = {code.lower(): code for code in TEXT}
_ALIASES = {"tl": "fil", "zh": "zh_hant"}
