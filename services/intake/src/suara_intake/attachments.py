"""Attachments: take a staged (already cleaned) upload, seal it into intake's database, and
answer the report's file question with attachment ids instead of upload tokens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from nats.aio.client import Client
from nats.js.object_store import ObjectStore
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_contracts.rpc import Answer, FormSpec
from suara_intake import forms
from suara_intake.models import Attachment
from suara_intake.sealing import Sealer
from suara_kit import staging
from suara_kit.clock import today
from suara_kit.errors import NotFound, ValidationFailed
from suara_kit.ids import uuid7

ACCEPTED = {"image/jpeg", "image/png", "application/pdf"}


@dataclass(frozen=True)
class Vault:
    """Where uploads wait, and the key attachments are sealed with."""

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


async def seal_files(session: AsyncSession, files: StagedFiles, sealer: Sealer,
                     submission_id: UUID, spec: FormSpec, answers: dict[str, Answer]
                     ) -> tuple[dict[str, Answer], list[str]]:
    """Store every file the answers name; return the answers with attachment ids in place of
    upload tokens, and the tokens to discard once the transaction commits."""
    answers, used, errors = dict(answers), [], []
    for question, token in forms.file_tokens(spec, answers):
        try:
            media_type, data = await files.take(token)
        except NotFound:
            errors.append({"field": f"answers.{question}", "code": "expired",
                           "message": "an upload has expired or was already used; attach the "
                                      "file again"})
            continue
        if media_type not in ACCEPTED or not data:
            errors.append({"field": f"answers.{question}", "code": "not-files",
                           "message": "an upload is not a cleaned photo or PDF"})
            continue
        attachment = Attachment(id=uuid7(), submission_id=submission_id, question=question,
                                media_type=media_type, size=len(data), added_on=today(),
                                sealed=b"")
        attachment.sealed = sealer.seal(data, attachment.id.bytes)
        session.add(attachment)
        ids = answers[question]
        answers[question] = [str(attachment.id) if t == token else t
                             for t in (ids if isinstance(ids, list) else [ids])]
        used.append(token)
    if errors:
        raise ValidationFailed(f"{errors[0]['field']}: {errors[0]['message']}", errors=errors)
    return answers, used


async def opened(session: AsyncSession, sealer: Sealer, attachment_id: UUID
                 ) -> tuple[Attachment, bytes]:
    """An attachment and its plaintext (for the case handler it belongs to)."""
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("There is no such attachment.")
    return attachment, sealer.open(attachment.sealed, attachment.id.bytes)
