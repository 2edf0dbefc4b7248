"""Uploads waiting for their report: a JetStream object store between the gateway and intake.

The gateway checks a file's content and strips its metadata, then stages the clean bytes here
under a random token; the worker's report (or follow-up) names the token, and intake takes the
file, encrypts it into its own database and deletes it here. Files nobody claims expire after
`TTL`. The store is kept in memory (never on the NATS server's disk) and holds only cleaned
files; object names are random tokens, so no subject names a file or a person.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from nats.js.api import ObjectInfo, ObjectMeta, ObjectStoreConfig, StorageType
from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

from suara_kit.errors import NotFound

BUCKET = "SUARA_UPLOADS"
TAKE_TIMEOUT = 3.0
GONE = "This upload has expired or was already used; attach the file again."
TTL_SECONDS = 6 * 3600
MAX_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class Staged:
    token: str
    media_type: str
    size: int


async def bucket(js: JetStreamContext, replicas: int = 1) -> ObjectStore:
    """The staging store, created on first use by whichever process gets there first."""
    try:
        return await js.object_store(BUCKET)
    except BucketNotFoundError:
        config = ObjectStoreConfig(description="Cleaned uploads waiting for their report",
                                   ttl=TTL_SECONDS, max_bytes=MAX_BYTES,
                                   storage=StorageType.MEMORY, replicas=replicas)
        return await js.create_object_store(BUCKET, config=config)


def new_token() -> str:
    """A random, unguessable name: whoever holds it may attach the file to a report."""
    return secrets.token_urlsafe(24)


async def stage(store: ObjectStore, data: bytes, media_type: str) -> Staged:
    token = new_token()
    await store.put(token, data, meta=ObjectMeta(name=token, description=media_type))
    return Staged(token=token, media_type=media_type, size=len(data))


def _staged(token: str, info: ObjectInfo) -> Staged:
    return Staged(token=token, media_type=info.description or "application/octet-stream",
                  size=info.size or 0)


async def describe(store: ObjectStore, token: str) -> Staged:
    """What a token holds, without reading it; NotFound when it expired or was used."""
    try:
        info = await store.get_info(token)
    except ObjectNotFoundError:
        raise NotFound(GONE) from None
    return _staged(token, info)


async def take(store: ObjectStore, token: str,
               timeout: float = TAKE_TIMEOUT) -> tuple[Staged, bytes]:
    """The staged file's bytes (the caller deletes it once its own transaction commits). A
    file being deleted at that moment (its data already gone) is NotFound after `timeout`
    rather than a wait for chunks that will never come."""
    try:
        result = await asyncio.wait_for(store.get(token), timeout)
    except (ObjectNotFoundError, TimeoutError):
        raise NotFound(GONE) from None
    return _staged(token, result.info), bytes(result.data or b"")


async def discard(store: ObjectStore, token: str) -> None:
    """Delete a staged file; gone already is fine."""
    try:
        await store.delete(token)
    except ObjectNotFoundError:
        pass
