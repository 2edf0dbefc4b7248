"""Exactly one run of a retried request, across the gateway → service hop.

The gateway keeps a partner's `Idempotency-Key` (gateway `idempotency`), but it can only keep
answers it received. When a service is slow, the gateway's RPC times out and it answers 503; the
service may still commit a moment later. The client retries with the same key, the gateway has
nothing stored, and without more the work would run twice: two cases from one report.

So the gateway passes a key down. Inside `calling(base)` every `messaging.call` sends the header
`Suara-Replay: <id> <secret>`, both derived from `base` (itself derived by the gateway from its
own secret, the caller, the Idempotency-Key and the request's hash), the subject and the call's
position among the request's calls to that subject: a retry of the same request makes the same
calls in the same order and so sends the same headers. The service (`ServiceApp`) then

1. **claims** the id in its `rpc_replay` table (its own transaction). If the id is done, it
   answers with the stored reply and runs nothing; if another run holds it, it answers 409 with
   `Retry-After` (the gateway passes that on, so the client waits instead of filing again); a
   claim older than `abandon_after` (its service died mid-run) is taken over;
2. **runs** the handler as always; an error releases the claim (nothing is kept of a refusal);
3. **records** the reply, sealed under `secret` and bound to `id`, so the table alone opens
   nothing: a submission's reply holds the worker's receipt.

What is left: a service that dies between the handler's commit and step 3 runs the work again
on the retry (milliseconds, against the seconds of an RPC timeout that this closes; more when
the process is busy: kill -9 during a burst left ten duplicate reports of sixteen in flight), and
a retry waits for a dead run's claim to be abandoned. A handler that does all its work in one
transaction closes both: served with `reply_in_transaction=True`, it keeps its reply in that
transaction (`ServiceApp.keep_reply`), no claim is taken, and a twin that commits second is
rolled back and answered with the first's reply (intake's submissions do this). Rows are
purged a day after their claim, as the gateway forgets keys after a day.

The header carries nothing about the caller: the id is a hash and the secret a derived key, both
from a key the client chose at random. Neither is logged or put in a span.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from suara_kit.db import UTCDateTime
from suara_kit.errors import Conflict
from suara_kit.sealing import Sealer

HEADER = "Suara-Replay"
KEEP_HOURS = 24
ABANDONED_AFTER = 120.0  # seconds: a claim this old lost its run (the RPC timeout is 10 s)
_INFO = b"suara-rpc-replay-v1"


class ReplayRow(SQLModel):
    """Mixin: declare `class Replay(ReplayRow, Base, table=True)` in each service."""

    __tablename__ = "rpc_replay"

    id: str = Field(primary_key=True, max_length=64)
    claimed_at: datetime = Field(sa_type=UTCDateTime, index=True)
    reply: str | None = Field(default=None, sa_type=Text)  # sealed, base64; None while running


@dataclass
class _Calls:
    base: bytes
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ReplayKey:
    """What a service gets: the row's id and the secret that seals its reply."""

    id: str
    secret: str

    def header(self) -> str:
        return f"{self.id} {self.secret}"

    def sealer(self) -> Sealer:
        return Sealer(self.secret, info=_INFO)

    def seal(self, reply: bytes) -> str:
        """A reply as the `rpc_replay` table keeps it: sealed under the secret, bound to the
        id, base64."""
        return base64.b64encode(self.sealer().seal(reply, self.id.encode())).decode()

    def open(self, kept: str) -> bytes:
        """The reply `seal` kept; `SealError` or `ValueError` when it cannot be read."""
        return self.sealer().open(base64.b64decode(kept), self.id.encode())


IN_FLIGHT = ("A request with this Idempotency-Key is still being processed; retry after it "
             "finishes.")


def in_flight() -> Conflict:
    """The answer while another run of the same request holds its key (gateway and services
    alike): a 409 the client waits out, instead of filing again."""
    return Conflict(IN_FLIGHT, reason="idempotency-in-flight", retry_after=1)


_calling: contextvars.ContextVar[_Calls | None] = contextvars.ContextVar("suara_replay_calls",
                                                                         default=None)


@contextmanager
def calling(base: bytes) -> Iterator[None]:
    """Within this block, every RPC call carries a replay key derived from `base` (32+
    secret bytes, the same for a retry of the same request)."""
    token = _calling.set(_Calls(base))
    try:
        yield
    finally:
        _calling.reset(token)


def next_key(subject: str) -> ReplayKey | None:
    """The key for the next call to `subject` in this block, or None outside one."""
    calls = _calling.get()
    if calls is None:
        return None
    position = calls.counts.get(subject, 0)
    calls.counts[subject] = position + 1
    label = f"{subject}\n{position}".encode()
    row_id = hmac.new(calls.base, b"id\n" + label, hashlib.sha256).hexdigest()
    secret = hmac.new(calls.base, b"seal\n" + label, hashlib.sha256).digest()
    return ReplayKey(row_id, base64.urlsafe_b64encode(secret).decode().rstrip("="))


def parse(value: str | None) -> ReplayKey | None:
    """The key a request carries, or None when it carries none or a malformed one (then the
    request runs as any other: the header is an optimisation of retries, not a gate)."""
    if not value:
        return None
    row_id, _, secret = value.partition(" ")
    if len(row_id) != 64 or not all(c in "0123456789abcdef" for c in row_id):
        return None
    if not 32 <= len(secret) <= 64 or not secret.replace("-", "").replace("_", "").isalnum():
        return None
    return ReplayKey(row_id, secret)


_received: contextvars.ContextVar[ReplayKey | None] = contextvars.ContextVar(
    "suara_replay_received", default=None)


@contextmanager
def receiving(value: str | None) -> Iterator[None]:
    """While a service answers one request: the replay key it carries (see `received`)."""
    token = _received.set(parse(value))
    try:
        yield
    finally:
        _received.reset(token)


def received() -> ReplayKey | None:
    """The replay key of the request being answered, if it carries one."""
    return _received.get()
