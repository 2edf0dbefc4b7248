"""Attachments: take a staged (already cleaned) upload, seal it into intake's database with the
submission's data key, and answer the report's file question with attachment ids instead of
upload tokens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from nats.aio.client import Client
from nats.js.object_store import ObjectStore
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.rpc import Answer, FormSpec
from suara_intake import content
from suara_intake.models import Attachment
from suara_kit import staging
from suara_kit.clock import today
from suara_kit.datakeys import DataKey
from suara_kit.errors import NotFound, ValidationFailed
from suara_kit.ids import uuid7
from suara_kit.sealing import Sealer

ACCEPTED = {"image/jpeg", "image/png", "application/pdf"}


@dataclass(frozen=True)
class Vault:
    """Where uploads wait, and the service-wide key files attached before data keys were
    sealed with (new files are sealed with their submission's data key)."""

    files: StagedFiles
    sealer: Sealer


class StagedFiles(Protocol):
    """Where uploads wait for their report (the NATS object store; a dict in unit tests)."""

    async def take(self, token: str) -> tuple[str, bytes]: ...

    async def discard(self, token: str) -> None: ...


class NatsStagedFiles:
    """The staging object store, opened on first use."""

    def __init__(self, connection: Callable[[], Client | None]) -> None:
        self.connection = connection
        self._store: ObjectStore | None = None

    async def _bucket(self) -> ObjectStore:
        if self._store is None:
            nc = self.connection()
            if nc is None:
                raise RuntimeError("not connected to NATS")
            self._store = await staging.bucket(nc.jetstream())
        return self._store

    async def take(self, token: str) -> tuple[str, bytes]:
        staged, data = await staging.take(await self._bucket(), token)
        return staged.media_type, data

    async def discard(self, token: str) -> None:
        await staging.discard(await self._bucket(), token)


async def seal_one(session: AsyncSession, vault: Vault, key: DataKey, question: str,
                   token: str) -> Attachment:
    """Take one staged upload and store it sealed; a Problem-style 422 entry on failure."""
    try:
        media_type, data = await vault.files.take(token)
    except NotFound:
        raise _Unusable("expired", "an upload has expired or was already used; attach the file "
                        "again") from None
    if media_type not in ACCEPTED or not data:
        raise _Unusable("not-files", "an upload is not a cleaned photo or PDF")
    attachment = Attachment(id=uuid7(), submission_id=key.owner, question=question,
                            media_type=media_type, size=len(data), added_on=today(), sealed=b"")
    content.seal_attachment(key, attachment, data)
    session.add(attachment)
    return attachment


class _Unusable(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


async def seal_tokens(session: AsyncSession, vault: Vault, key: DataKey, field: str,
                      question: str, tokens: list[str]) -> list[UUID]:
    """Store every upload named, sealed with `key` (the submission's); a 422 naming `field`
    if any cannot be used."""
    ids, errors = [], []
    for token in tokens:
        try:
            ids.append((await seal_one(session, vault, key, question, token)).id)
        except _Unusable as exc:
            errors.append({"field": field, "code": exc.code, "message": exc.message})
    if errors:
        raise ValidationFailed(f"{errors[0]['field']}: {errors[0]['message']}", errors=errors)
    return ids


async def seal_files(session: AsyncSession, vault: Vault, key: DataKey, spec: FormSpec,
                     answers: dict[str, Answer]) -> dict[str, Answer]:
    """Store every file the answers name; return the answers with attachment ids in place of
    upload tokens (the caller discards the tokens once the transaction commits)."""
    answers, errors = dict(answers), []
    for f in spec.fields:
        tokens = answers.get(f.name) if f.kind == "file" else None
        if not isinstance(tokens, list) or not tokens:
            continue
        try:
            ids = await seal_tokens(session, vault, key, f"answers.{f.name}", f.name, tokens)
        except ValidationFailed as exc:
            errors += exc.extra["errors"]
            continue
        answers[f.name] = [str(i) for i in ids]
    if errors:
        raise ValidationFailed(f"{errors[0]['field']}: {errors[0]['message']}", errors=errors)
    return answers


async def opened(session: AsyncSession, sealer: Sealer, attachment_id: UUID
                 ) -> tuple[Attachment, bytes]:
    """An attachment and its plaintext (for the case handler it belongs to); 410
    (`Shredded`) once retention deleted its submission's key."""
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("There is no such attachment.")
    return attachment, await content.open_attachment(session, sealer, attachment)
