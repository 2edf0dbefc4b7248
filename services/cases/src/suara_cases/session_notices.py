"""Mediation sessions, as the case and the worker learn of them.

Mediation-scheduling announces every booking, reschedule and cancellation (`SessionChanged`,
times in UTC, parties by role and alias only). Case-management is the one service that knows
which report a case belongs to, so it

1. keeps the case's session list right for the handler: the booking is a `CaseSession` under
   the booking's id; a reschedule moves it; a cancellation marks it `cancelled` (kept, so the
   handler sees it was cancelled and a late event cannot bring it back). Each row remembers the
   booking's iCalendar SEQUENCE: the three events come through three durable consumers and may
   arrive out of order or twice, and a change no newer than what the row holds is ignored, for
   the list and for the worker alike;
2. tells the worker, through their receipt-protected inbox: one message per change, in the
   language and time zone of the party with role "worker" (else "representative"), with the
   date and time in their local zone (dates by Babel, so weekdays and months are localised),
   the mode, and that they can reply through the page. The message names nobody: at most
   "the employer side" and "an interpreter"; a cancellation gives no reason, only that the
   mediator will propose another time. A cancellation of a booking the worker never heard of
   is recorded without a message.

No message for a case that came by referral (the referring organisation keeps the reporter's
inbox) or whose retention ended. A session message does not count as the update the reporter is
owed: like the check-ins, it is the system's, not the handler's, and the handler still owes them
news of the case itself.

Attendance (`PartyAttendance`: accepted, declined, no-show) tells the worker nothing; it is
audited on the case.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_skeleton, get_timezone_location
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_cases import audit, content, repository
from suara_cases.deadlines import is_referral_copy
from suara_cases.models import Case, CaseSession
from suara_contracts.events import PartyAttendance, PartyRef, ReporterMessage, SessionChanged
from suara_contracts.subjects import Evt
from suara_kit.clock import today
from suara_kit.errors import NotFound

Change = Literal["booked", "rescheduled", "cancelled"]
SYSTEM = "system"
READERS = ("worker", "representative")  # whose language and zone the message is written in

# Suara's language codes → Babel locales. English as in Britain: day before month, 24-hour.
LOCALES = {"en": "en_GB", "id": "id", "fil": "fil", "ms": "ms", "th": "th", "vi": "vi",
           "km": "km", "my": "my", "zh_Hant": "zh_Hant"}
_LOWER = {code.lower(): code for code in LOCALES}
_ALIASES = {"tl": "fil", "zh": "zh_hant", "in": "id"}

# {date}: the localised full date; {time}: start to end, 24-hour; {zone}: from "zone", or an
# offset such as UTC+07:00 for a zone with no city.
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "booked": "A mediation session for your case has been booked.",
        "rescheduled": "The mediation session for your case has been moved to a new time.",
        "cancelled": "The mediation session for your case has been cancelled. The mediator "
                     "will propose another time.",
        "when": "When: {date}, {time} ({zone}).",
        "was": "It was planned for {date}, {time} ({zone}).",
        "zone": "{city} time",
        "how": "How: {mode}.",
        "mode.in-person": "in person", "mode.video": "by video call", "mode.phone": "by phone",
        "employer": "The employer side will also take part.",
        "interpreter": "An interpreter will be there to help you.",
        "reply": "If this time does not suit you, or if you have a question, you can reply "
                 "through this page.",
        "reply.cancelled": "If you have a question, you can reply through this page.",
    },
    "id": {
        "booked": "Sesi mediasi untuk kasus Anda telah dijadwalkan.",
        "rescheduled": "Sesi mediasi untuk kasus Anda telah dipindahkan ke waktu yang baru.",
        "cancelled": "Sesi mediasi untuk kasus Anda telah dibatalkan. Mediator akan "
                     "mengusulkan waktu lain.",
        "when": "Waktu: {date}, pukul {time} ({zone}).",
        "was": "Sesi itu semula dijadwalkan pada {date}, pukul {time} ({zone}).",
        "zone": "waktu {city}",
        "how": "Bentuk: {mode}.",
        "mode.in-person": "tatap muka", "mode.video": "panggilan video",
        "mode.phone": "panggilan telepon",
        "employer": "Pihak pemberi kerja juga akan hadir.",
        "interpreter": "Seorang juru bahasa akan hadir untuk membantu Anda.",
        "reply": "Jika waktu ini tidak cocok bagi Anda, atau jika Anda punya pertanyaan, Anda "
                 "dapat membalas melalui halaman ini.",
        "reply.cancelled": "Jika Anda punya pertanyaan, Anda dapat membalas melalui halaman "
                           "ini.",
    },
    "fil": {
        "booked": "Naka-iskedyul na ang isang sesyon ng mediasyon para sa iyong kaso.",
        "rescheduled": "Inilipat sa bagong oras ang sesyon ng mediasyon para sa iyong kaso.",
        "cancelled": "Kinansela ang sesyon ng mediasyon para sa iyong kaso. Magmumungkahi ang "
                     "tagapamagitan ng ibang oras.",
        "when": "Kailan: {date}, {time} ({zone}).",
        "was": "Nakatakda sana ito sa {date}, {time} ({zone}).",
        "zone": "oras sa {city}",
        "how": "Paraan: {mode}.",
        "mode.in-person": "harapan", "mode.video": "sa video call",
        "mode.phone": "sa telepono",
        "employer": "Dadalo rin ang panig ng employer.",
        "interpreter": "May interpreter na tutulong sa iyo.",
        "reply": "Kung hindi angkop sa iyo ang oras na ito, o kung may tanong ka, maaari kang "
                 "sumagot sa pahinang ito.",
        "reply.cancelled": "Kung may tanong ka, maaari kang sumagot sa pahinang ito.",
    },
    "ms": {
        "booked": "Satu sesi pengantaraan untuk kes anda telah ditetapkan.",
        "rescheduled": "Sesi pengantaraan untuk kes anda telah dipindahkan ke masa baharu.",
        "cancelled": "Sesi pengantaraan untuk kes anda telah dibatalkan. Pengantara akan "
                     "mencadangkan masa lain.",
        "when": "Masa: {date}, {time} ({zone}).",
        "was": "Sesi itu asalnya ditetapkan pada {date}, {time} ({zone}).",
        "zone": "waktu {city}",
        "how": "Cara: {mode}.",
        "mode.in-person": "bersemuka", "mode.video": "panggilan video",
        "mode.phone": "panggilan telefon",
        "employer": "Pihak majikan juga akan hadir.",
        "interpreter": "Seorang jurubahasa akan hadir untuk membantu anda.",
        "reply": "Jika masa ini tidak sesuai untuk anda, atau jika anda ada soalan, anda boleh "
                 "membalas melalui halaman ini.",
        "reply.cancelled": "Jika anda ada soalan, anda boleh membalas melalui halaman ini.",
    },
    "th": {
        "booked": "มีการนัดหมายการประชุมไกล่เกลี่ยสำหรับเรื่องร้องเรียนของคุณแล้ว",
        "rescheduled": "การประชุมไกล่เกลี่ยสำหรับเรื่องร้องเรียนของคุณถูกเลื่อนไปเป็นเวลาใหม่",
        "cancelled": "การประชุมไกล่เกลี่ยสำหรับเรื่องร้องเรียนของคุณถูกยกเลิกแล้ว "
                     "ผู้ไกล่เกลี่ยจะเสนอเวลาใหม่ให้",
        "when": "เวลา: {date} {time} ({zone})",
        "was": "เดิมนัดไว้ {date} {time} ({zone})",
        "zone": "เวลา{city}",
        "how": "รูปแบบ: {mode}",
        "mode.in-person": "พบกันโดยตรง", "mode.video": "วิดีโอคอล", "mode.phone": "โทรศัพท์",
        "employer": "ฝ่ายนายจ้างจะเข้าร่วมด้วย",
        "interpreter": "จะมีล่ามคอยช่วยเหลือคุณ",
        "reply": "หากเวลานี้ไม่สะดวกสำหรับคุณ หรือหากคุณมีคำถาม คุณสามารถตอบกลับผ่านหน้านี้ได้",
        "reply.cancelled": "หากคุณมีคำถาม คุณสามารถตอบกลับผ่านหน้านี้ได้",
    },
    "vi": {
        "booked": "Một buổi hòa giải cho vụ việc của bạn đã được đặt lịch.",
        "rescheduled": "Buổi hòa giải cho vụ việc của bạn đã được dời sang thời gian mới.",
        "cancelled": "Buổi hòa giải cho vụ việc của bạn đã bị hủy. Hòa giải viên sẽ đề xuất "
                     "một thời gian khác.",
        "when": "Thời gian: {time}, {date} ({zone}).",
        "was": "Buổi hòa giải này trước đó được hẹn vào {time}, {date} ({zone}).",
        "zone": "giờ {city}",
        "how": "Hình thức: {mode}.",
        "mode.in-person": "gặp trực tiếp", "mode.video": "gọi video",
        "mode.phone": "gọi điện thoại",
        "employer": "Phía người sử dụng lao động cũng sẽ tham gia.",
        "interpreter": "Sẽ có phiên dịch viên hỗ trợ bạn.",
        "reply": "Nếu thời gian này không phù hợp với bạn, hoặc nếu bạn có câu hỏi, bạn có thể "
                 "trả lời qua trang này.",
        "reply.cancelled": "Nếu bạn có câu hỏi, bạn có thể trả lời qua trang này.",
    },
    # km: a native speaker must check these before they are relied on.
    "km": {
        "booked": "វគ្គសម្របសម្រួលសម្រាប់ករណីរបស់អ្នកត្រូវបានកំណត់ពេលហើយ។",
        "rescheduled": "វគ្គសម្របសម្រួលសម្រាប់ករណីរបស់អ្នកត្រូវបានផ្លាស់ប្តូរទៅពេលវេលាថ្មី។",
        "cancelled": "វគ្គសម្របសម្រួលសម្រាប់ករណីរបស់អ្នកត្រូវបានលុបចោលហើយ។ "
                     "អ្នកសម្របសម្រួលនឹងស្នើពេលវេលាផ្សេងទៀត។",
        "when": "ពេលវេលា៖ {date} {time} ({zone})។",
        "was": "វគ្គនេះត្រូវបានគ្រោងធ្វើនៅ {date} {time} ({zone})។",
        "zone": "ម៉ោង{city}",
        "how": "ទម្រង់៖ {mode}។",
        "mode.in-person": "ជួបផ្ទាល់", "mode.video": "ហៅជាវីដេអូ", "mode.phone": "ហៅទូរសព្ទ",
        "employer": "ភាគីនិយោជកក៏នឹងចូលរួមដែរ។",
        "interpreter": "នឹងមានអ្នកបកប្រែមកជួយអ្នក។",
        "reply": "ប្រសិនបើពេលវេលានេះមិនសមរម្យសម្រាប់អ្នក ឬអ្នកមានសំណួរ "
                 "អ្នកអាចឆ្លើយតបតាមរយៈទំព័រនេះ។",
        "reply.cancelled": "ប្រសិនបើអ្នកមានសំណួរ អ្នកអាចឆ្លើយតបតាមរយៈទំព័រនេះ។",
    },
    # my: a native speaker must check these before they are relied on.
    "my": {
        "booked": "သင့်အမှုအတွက် ညှိနှိုင်းဖျန်ဖြေရေး အစည်းအဝေးကို ချိန်းဆိုသတ်မှတ်ပြီးပါပြီ။",
        "rescheduled": "သင့်အမှုအတွက် ညှိနှိုင်းဖျန်ဖြေရေး အစည်းအဝေးကို "
                       "အချိန်အသစ်သို့ ပြောင်းရွှေ့လိုက်ပါပြီ။",
        "cancelled": "သင့်အမှုအတွက် ညှိနှိုင်းဖျန်ဖြေရေး အစည်းအဝေးကို ပယ်ဖျက်လိုက်ပါပြီ။ "
                     "ဖျန်ဖြေသူက အခြားအချိန်တစ်ခုကို အဆိုပြုပါလိမ့်မည်။",
        "when": "အချိန်: {date} {time} ({zone})။",
        "was": "ယင်းအစည်းအဝေးကို {date} {time} ({zone}) တွင် ကျင်းပရန် စီစဉ်ထားခဲ့ပါသည်။",
        "zone": "{city} အချိန်",
        "how": "ပုံစံ: {mode}။",
        "mode.in-person": "လူကိုယ်တိုင်", "mode.video": "ဗီဒီယိုခေါ်ဆိုမှု",
        "mode.phone": "ဖုန်းခေါ်ဆိုမှု",
        "employer": "အလုပ်ရှင်ဘက်မှလည်း တက်ရောက်ပါမည်။",
        "interpreter": "သင့်ကို ကူညီရန် စကားပြန်တစ်ဦး ရှိပါမည်။",
        "reply": "ဤအချိန်သည် သင့်အတွက် အဆင်မပြေပါက သို့မဟုတ် မေးစရာရှိပါက "
                 "ဤစာမျက်နှာမှတစ်ဆင့် ပြန်ကြားနိုင်ပါသည်။",
        "reply.cancelled": "မေးစရာရှိပါက ဤစာမျက်နှာမှတစ်ဆင့် ပြန်ကြားနိုင်ပါသည်။",
    },
    "zh_Hant": {
        "booked": "你的個案已安排一次調解會議。",
        "rescheduled": "你個案的調解會議已改到新的時間。",
        "cancelled": "你個案的調解會議已取消。調解員會再提議另一個時間。",
        "when": "時間：{date} {time}（{zone}）。",
        "was": "原定時間為 {date} {time}（{zone}）。",
        "zone": "{city}時間",
        "how": "形式：{mode}。",
        "mode.in-person": "親身出席", "mode.video": "視訊通話", "mode.phone": "電話",
        "employer": "僱主方也會出席。",
        "interpreter": "會有一位口譯員在場協助你。",
        "reply": "如果這個時間不適合你，或你有任何問題，可以透過此頁面回覆。",
        "reply.cancelled": "如有任何問題，可以透過此頁面回覆。",
    },
}


def language_of(code: str | None, default: str = "en") -> str:
    """One of Suara's nine languages for a code such as `id`, `zh-Hant` or `fil-PH`;
    `default` when none fits."""
    key = (code or "").replace("-", "_").lower()
    for candidate in (key, key.split("_")[0]):
        found = _LOWER.get(_ALIASES.get(candidate, candidate))
        if found:
            return found
    return default


def _text(lang: str, key: str) -> str:
    return TEXT[lang].get(key) or TEXT["en"][key]


def _readable(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name) if _readable(name) else ZoneInfo("UTC")


def reader(parties: list[PartyRef]) -> PartyRef | None:
    """The party the reporter's inbox speaks to: the worker, else their representative."""
    for role in READERS:
        found = next((p for p in parties if p.role == role), None)
        if found:
            return found
    return None


def _zone_label(lang: str, zone: ZoneInfo, moment: datetime) -> str:
    if zone.key.startswith("Etc/") or zone.key in ("UTC", "GMT", "Universal", "Zulu"):
        offset = moment.utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset else 0
        if not minutes:
            return "UTC"
        sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
        return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    city = get_timezone_location(zone, locale=LOCALES[lang], return_city=True)
    return _text(lang, "zone").format(city=city)


def when(lang: str, zone_name: str, starts_at: datetime, ends_at: datetime,
         key: str = "when") -> str:
    """'When: Thursday, 3 December 2026, 10:00 to 11:00 (Hong Kong time).' in `lang`, in the
    zone's local time."""
    zone = _zone(zone_name)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    locale = LOCALES[lang]
    day = format_date(start, "full", locale=locale)
    if start.date() == end.date():
        time = (f"{format_skeleton('Hm', start, locale=locale)}–"
                f"{format_skeleton('Hm', end, locale=locale)}")
    else:  # across local midnight: say the day it ends too
        time = (f"{format_skeleton('Hm', start, locale=locale)} – "
                f"{format_date(end, 'full', locale=locale)} "
                f"{format_skeleton('Hm', end, locale=locale)}")
    return _text(lang, key).format(date=day, time=time, zone=_zone_label(lang, zone, start))


def notice(change: Change, event: SessionChanged, fallback_language: str = "en") -> str:
    """The message to the worker about a change to their session, in their language and
    zone. Names nobody: roles are "the employer side" and "an interpreter" at most."""
    party = reader(event.parties)
    # the party's language; else the one the report was written in; else English
    lang = language_of(party.language if party else None, language_of(fallback_language))
    # the party's own zone; the session's if theirs is unknown or unreadable
    zone = party.timezone if party and _readable(party.timezone) else event.timezone
    lines = [_text(lang, change)]
    if change == "cancelled":
        lines += [when(lang, zone, event.starts_at, event.ends_at, "was"),
                  _text(lang, "reply.cancelled")]
        return "\n".join(lines)
    lines.append(when(lang, zone, event.starts_at, event.ends_at))
    if f"mode.{event.mode}" in TEXT["en"]:
        lines.append(_text(lang, "how").format(mode=_text(lang, f"mode.{event.mode}")))
    roles = {p.role for p in event.parties}
    if "employer" in roles:
        lines.append(_text(lang, "employer"))
    if "interpreter" in roles:
        lines.append(_text(lang, "interpreter"))
    lines.append(_text(lang, "reply"))
    return "\n".join(lines)


async def session_changed(session: AsyncSession, change: Change, event: SessionChanged,
                          on: date) -> ReporterMessage | None:
    """Apply a booking, reschedule or cancellation to the case's sessions; the message to the
    reporter's inbox to emit, if they are to be told."""
    case = await repository.get(session, event.case_id)
    if case is None:
        raise NotFound("session for an unknown case")  # retried, then dead-lettered
    if case.organisation != event.organisation:
        return None  # not this organisation's case: nothing to keep, no one to tell
    row = await session.get(CaseSession, event.booking_id, with_for_update=True)
    if row is not None and row.sequence is not None and row.sequence >= event.sequence:
        return None  # told already, or a newer change came first
    heard_of = row is not None and not row.cancelled
    if row is None:
        row = CaseSession(id=event.booking_id, case_id=case.id, starts_at=event.starts_at,
                          ends_at=event.ends_at, timezone=event.timezone, mode=event.mode)
    row.starts_at, row.ends_at = event.starts_at, event.ends_at
    row.timezone, row.mode = event.timezone, event.mode[:16]
    row.sequence, row.cancelled = event.sequence, change == "cancelled"
    session.add(row)
    await audit.record(session, SYSTEM, f"session-{change}", case.id)
    if not _tells_reporter(case) or (change == "cancelled" and not heard_of):
        return None
    body = notice(change, event, case.language)
    message = await content.add_message(session, case, author=SYSTEM, body=body,
                                        kind="to-reporter", sent_on=on)
    return ReporterMessage(message_id=message.id, case_id=case.id,
                           submission_id=case.submission_id, organisation=case.organisation,
                           body=body)


def _tells_reporter(case: Case) -> bool:
    """A referral copy has no inbox of its own (`work.NO_INBOX`); a shredded case has no key
    to seal a message with and no report left to show it on."""
    return not is_referral_copy(case) and case.shredded_on is None


async def attendance(session: AsyncSession, event: PartyAttendance) -> None:
    """A party accepted, declined or did not come: audited on the case; nobody is told."""
    case = await repository.get(session, event.case_id)
    if case is None or case.organisation != event.organisation:
        return
    await audit.record(session, SYSTEM, f"session-{event.response}", case.id)


Handler = Callable[[AsyncSession, UUID, Any], Awaitable[None]]
CHANGES: tuple[tuple[str, Change, str], ...] = (
    (Evt.SESSION_BOOKED, "booked", "cases-session-booked"),
    (Evt.SESSION_RESCHEDULED, "rescheduled", "cases-session-rescheduled"),
    (Evt.SESSION_CANCELLED, "cancelled", "cases-session-cancelled"),
)


def consumers(app: Any) -> list[tuple[str, type, str, Handler]]:
    """(subject, event model, durable, handler) for `app.on_event`, one per session event."""

    def on_change(change: Change) -> Handler:
        async def handle(session: AsyncSession, _: UUID, event: SessionChanged) -> None:
            message = await session_changed(session, change, event, today())
            if message is not None:
                app.emit(session, Evt.REPORTER_MESSAGE, message)
        return handle

    async def on_attendance(session: AsyncSession, _: UUID, event: PartyAttendance) -> None:
        await attendance(session, event)

    found: list[tuple[str, type, str, Handler]] = [
        (subject, SessionChanged, durable, on_change(change))
        for subject, change, durable in CHANGES]
    found += [(Evt.PARTY_RESPONDED, PartyAttendance, "cases-party-responded", on_attendance),
              (Evt.PARTY_NO_SHOW, PartyAttendance, "cases-party-no-show", on_attendance)]
    return found
