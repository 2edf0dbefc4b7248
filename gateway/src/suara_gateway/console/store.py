"""The console's server-side sessions, shared by every gateway replica through the JetStream
key-value bucket SUARA_CONSOLE.

* A browser holds only a random session id (256 bits) in its cookie. The bucket never sees it:
  an entry is named `session.<HMAC(id)>` under a key derived from the gateway's console secret
  (SUARA_GATEWAY_CONSOLE_SESSION_KEY), and sealed with AES-256-GCM under a key derived from that
  secret *and* the id, bound to the entry's name. NATS alone, or the secret alone, opens nothing.
* Each staff member's sessions are listed in `subject.<HMAC(sub)>` (sealed with the secret), so
  signing out ends every console session of that person, on every device.
* Updates are compare-and-set on the entry's revision: a request that races a sign-out cannot
  bring a deleted session back.
* The bucket's time to live is the absolute session lifetime: an entry nobody touches goes away
  by itself; the code enforces idle and absolute limits before that.

Nothing here logs an id, a subject or a name.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import nats.errors
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nats.aio.client import Client
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from suara_kit.sealing import Sealer, SealError

BUCKET = "SUARA_CONSOLE"
_SESSION_INFO = b"suara-gateway-console-session-v1:"
_INDEX_INFO = b"suara-gateway-console-index-v1"
_NAMES_INFO = b"suara-gateway-console-names-v1"
NATS_ERRORS = (nats.errors.Error, TimeoutError)


@dataclass(frozen=True)
class SessionRecord:
    """What the bucket keeps of one console session (sealed)."""

    subject: str
    username: str | None
    name: str | None
    client_id: str | None
    roles: tuple[str, ...]
    organisations: tuple[str, ...]
    organisation_name: str | None
    csrf_token: str
    language: str
    id_token: str
    refresh_token: str | None
    access_expires: float
    created: float
    last_seen: float

    def to_bytes(self) -> bytes:
        """The record as JSON."""
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> SessionRecord:
        """A record from `to_bytes`."""
        data = json.loads(raw)
        data["roles"], data["organisations"] = tuple(data["roles"]), tuple(data["organisations"])
        return cls(**data)

    def touched(self, now: float, **changes: object) -> SessionRecord:
        """The record seen at `now`, with other changes."""
        return replace(self, last_seen=now, **changes)  # type: ignore[arg-type]


def new_session_id() -> str:
    """A fresh session id: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


class SessionStore:
    """Console sessions in the bucket (see the module docstring)."""

    def __init__(self, kv: KeyValue, secret: str, lifetime: float,
                 clock: Callable[[], float] = time.time) -> None:
        Sealer(secret)  # refuse an unusable secret at start, not on a sign-in
        self.kv, self._secret, self.lifetime, self.clock = kv, secret, lifetime, clock
        self._names = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                           info=_NAMES_INFO).derive(secret.encode())

    def entry_name(self, session_id: str) -> str:
        """The bucket key of a session: a keyed hash of its id."""
        return "session." + self._mac(b"session\0" + session_id.encode())

    def index_name(self, subject: str) -> str:
        """The bucket key listing a staff member's sessions: a keyed hash of their subject."""
        return "subject." + self._mac(b"subject\0" + subject.encode())

    def _mac(self, message: bytes) -> str:
        return hmac.new(self._names, message, hashlib.sha256).hexdigest()

    def _sealer(self, session_id: str) -> Sealer:
        return Sealer(self._secret, info=_SESSION_INFO + session_id.encode())

    async def create(self, record: SessionRecord) -> str:
        """Keep a new session; its id (for the cookie)."""
        session_id = new_session_id()
        name = self.entry_name(session_id)
        await self.kv.create(name, self._sealer(session_id).seal(record.to_bytes(),
                                                                 name.encode()))
        await self._index(record.subject, add=name)
        return session_id

    async def load(self, session_id: str) -> tuple[SessionRecord, int] | None:
        """A session and its revision; None when it is gone or cannot be opened."""
        name = self.entry_name(session_id)
        try:
            entry = await self.kv.get(name)
        except KeyNotFoundError:
            return None
        try:
            plain = self._sealer(session_id).open(entry.value or b"", name.encode())
        except SealError:
            return None  # another secret sealed it: the session is over
        return SessionRecord.from_bytes(plain), entry.revision

    async def save(self, session_id: str, record: SessionRecord, revision: int) -> int | None:
        """Replace the session if nothing changed it since `revision`; its new revision, or
        None when it changed or was deleted meanwhile."""
        name = self.entry_name(session_id)
        sealed = self._sealer(session_id).seal(record.to_bytes(), name.encode())
        try:
            return await self.kv.update(name, sealed, last=revision)
        except (KeyWrongLastSequenceError, KeyNotFoundError):
            return None

    async def delete(self, session_id: str) -> None:
        """End one session."""
        await self.kv.delete(self.entry_name(session_id))

    async def end_everywhere(self, subject: str) -> int:
        """End every session of one staff member; how many were listed."""
        names = await self._index(subject)
        for name in names:
            await self.kv.delete(name)
        try:
            await self.kv.delete(self.index_name(subject))
        except KeyNotFoundError:
            pass
        return len(names)

    async def _index(self, subject: str, add: str | None = None) -> list[str]:
        """The subject's listed sessions (younger than the lifetime), adding one if given."""
        index, sealer = self.index_name(subject), Sealer(self._secret, info=_INDEX_INFO)
        for _ in range(10):  # compare-and-set: two sign-ins at once both get listed
            listed, revision = await self._read_index(index, sealer)
            now = self.clock()
            listed = {n: t for n, t in listed.items() if now - t < self.lifetime}
            if add is None:
                return list(listed)
            listed[add] = now
            value = sealer.seal(json.dumps(listed).encode(), index.encode())
            try:
                if revision is None:
                    await self.kv.create(index, value)
                else:
                    await self.kv.update(index, value, last=revision)
                return list(listed)
            except (KeyWrongLastSequenceError, KeyNotFoundError):
                continue
        raise TimeoutError("the console's session index kept changing")

    async def _read_index(self, index: str, sealer: Sealer) -> tuple[dict[str, float], int | None]:
        try:
            entry = await self.kv.get(index)
        except KeyNotFoundError:
            return {}, None
        try:
            return json.loads(sealer.open(entry.value or b"", index.encode())), entry.revision
        except SealError:
            return {}, entry.revision  # sealed under another secret: those sessions are over


async def bucket(nc: Client, lifetime: float, replicas: int = 1) -> KeyValue:
    """The bucket, created on first use by whichever gateway gets there first. File storage:
    a NATS restart does not sign everybody out; what it keeps is sealed."""
    js = nc.jetstream()
    try:
        return await js.key_value(BUCKET)
    except BucketNotFoundError:
        config = KeyValueConfig(bucket=BUCKET, description="Staff console sessions (sealed)",
                                history=1, ttl=lifetime, storage=StorageType.FILE,
                                replicas=replicas)
        return await js.create_key_value(config)

