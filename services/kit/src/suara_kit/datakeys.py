"""Per-case data keys (envelope encryption) and crypto-shredding.

Every case's content is encrypted with a random 256-bit key of its own (the data key). The data
key is stored wrapped, i.e. sealed (`suara_kit.sealing.Sealer`) with the service's
key-encryption key from settings and the owner's id as associated data, in the service's
`data_key` table. Intake, case-management and notification each hold their own data key for
the same report, under their own key-encryption key, so no service can read another's rows.

Retention deletes the data key's row (`KeyRing.shred`). Every copy of the ciphertext that
exists, in the live database, a dump, a replica, stops opening: that is what "deleted
everywhere" means for data that may have been copied to places no delete reaches.

Layout of a blob sealed with a data key::

    version (1) = 0x01 | nonce (12) | AES-256-GCM ciphertext | tag (16)

with associated data ``owner id (16 bytes) | context``, so a blob copied onto another case, or
onto another row of the same case (the context names the row), does not open there.

Nothing here caches an unwrapped key beyond one call: a replica that kept keys in memory would
go on reading a case after another replica shredded it.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary, delete
from sqlmodel import Field, SQLModel, col
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_kit.clock import utcnow
from suara_kit.db import Database, UTCDateTime
from suara_kit.errors import Gone
from suara_kit.sealing import Sealer, SealError

__all__ = ["DataKey", "DataKeyRow", "KeyRing", "Shredded", "key_ring", "ring_of", "use_keys"]

VERSION = 1
_NONCE_LEN = 12
_INFO = b"suara-data-keys-v1"


class Shredded(Gone):
    """The content's data key was deleted under the retention policy: it cannot be read by
    anyone, ever again."""

    slug, title = "shredded", "Deleted under the retention policy"


class DataKeyRow(SQLModel):
    """Mixin: declare `class DataKeys(DataKeyRow, Base, table=True)` in each service."""

    __tablename__ = "data_key"

    owner_id: UUID = Field(primary_key=True, description="the case (or submission) it protects")
    # sa_type, not sa_column: a Column object in a mixin would be shared by every service's
    # table, and a process holding two services (the integration tests) could not map both
    wrapped: bytes = Field(sa_type=LargeBinary, nullable=False)
    created_at: datetime = Field(sa_type=UTCDateTime)


class DataKey:
    """One owner's data key, unwrapped: seals and opens that owner's content."""

    def __init__(self, owner: UUID, key: bytes) -> None:
        self.owner = owner
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: str = "") -> bytes:
        nonce = os.urandom(_NONCE_LEN)
        return (bytes((VERSION,)) + nonce
                + self._aead.encrypt(nonce, plaintext, self._aad(context)))

    def open(self, sealed: bytes, context: str = "") -> bytes:
        sealed = bytes(sealed)
        if len(sealed) < 1 + _NONCE_LEN + 16 or sealed[0] != VERSION:
            raise SealError("not a blob sealed with a data key")
        try:
            return self._aead.decrypt(sealed[1:1 + _NONCE_LEN], sealed[1 + _NONCE_LEN:],
                                      self._aad(context))
        except InvalidTag:
            raise SealError("cannot open: another case's key or row, or the data was altered"
                            ) from None

    def seal_json(self, value: Any, context: str = "") -> bytes:
        return self.seal(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode(),
                         context)

    def open_json(self, sealed: bytes, context: str = "") -> Any:
        return json.loads(self.open(sealed, context))

    def seal_text(self, text: str, context: str = "") -> bytes:
        return self.seal(text.encode(), context)

    def open_text(self, sealed: bytes, context: str = "") -> str:
        return self.open(sealed, context).decode()

    def _aad(self, context: str) -> bytes:
        return self.owner.bytes + context.encode()


class KeyRing:
    """Creates, unwraps and shreds one service's data keys."""

    def __init__(self, sealer: Sealer, row: type[DataKeyRow]) -> None:
        self.sealer, self.row = sealer, row

    async def create(self, session: AsyncSession, owner: UUID) -> DataKey:
        """A new data key for `owner`, stored wrapped in the caller's transaction."""
        key = AESGCM.generate_key(bit_length=256)
        session.add(self.row(owner_id=owner, wrapped=self.sealer.seal(key, owner.bytes),
                             created_at=utcnow()))
        return DataKey(owner, key)

    async def find(self, session: AsyncSession, owner: UUID) -> DataKey | None:
        """`owner`'s data key, or None when it has none (never had, or shredded)."""
        row = await session.get(self.row, owner)
        if row is None:
            return None
        return DataKey(owner, self.sealer.open(row.wrapped, owner.bytes))

    async def get(self, session: AsyncSession, owner: UUID) -> DataKey:
        """`owner`'s data key; `Shredded` (410) when retention deleted it."""
        key = await self.find(session, owner)
        if key is None:
            raise Shredded("This case's content was deleted at the end of its retention "
                           "period; it can no longer be read by anyone.")
        return key

    async def get_or_create(self, session: AsyncSession, owner: UUID) -> DataKey:
        return await self.find(session, owner) or await self.create(session, owner)

    async def shred(self, session: AsyncSession, owner: UUID) -> bool:
        """Delete `owner`'s data key (in the caller's transaction); True if there was one."""
        result = await session.exec(delete(self.row).where(  # type: ignore[call-overload]
            col(self.row.owner_id) == owner))
        return bool(result.rowcount)


def key_ring(settings: Any, row: type[DataKeyRow]) -> KeyRing:
    """The key ring of a service, from its `content_key` settings."""
    sealer = Sealer(settings.content_key.get_secret_value(),
                    [k.get_secret_value() for k in settings.content_previous_keys], info=_INFO)
    return KeyRing(sealer, row)


SESSION_KEY = "suara.data-keys"


def use_keys(db: Database, settings: Any, row: type[DataKeyRow]) -> None:
    """Give every session of `db` the service's key ring over its `row` table, from
    `settings.content_key` (read back with `ring_of`)."""
    db.info[SESSION_KEY] = key_ring(settings, row)


def ring_of(session: AsyncSession) -> KeyRing:
    """The key ring the service put on its database (`Database.info`), so every session
    carries it."""
    ring = session.info.get(SESSION_KEY)
    if ring is None:
        raise RuntimeError("this database has no data-key ring: set db.info[SESSION_KEY]")
    return ring
