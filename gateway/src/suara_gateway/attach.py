"""Files a worker attaches, on a page or through the API: checked on their content, rebuilt
without metadata (`uploads.clean`), then staged for intake under a random token.

A raw phone photo carries the place and time it was taken. It is read into memory, never
spooled to the gateway's disk, and only the cleaned copy leaves this process.
"""

from __future__ import annotations

import anyio
from fastapi import Request, UploadFile
from nats.js.object_store import ObjectStore
from starlette.formparsers import MultiPartParser

from suara_gateway.uploads import Limits, Refused, clean
from suara_kit import staging
from suara_kit.errors import SuaraError

LIMITS = Limits()
# Starlette spools parts over 1 MB to a temporary file: keep a whole raw upload in memory.
MultiPartParser.spool_max_size = LIMITS.max_bytes + 1024 * 1024
MAX_BODY = LIMITS.max_files * LIMITS.max_bytes + 1024 * 1024


class TooLarge(SuaraError):
    status, slug, title = 413, "too-large", "Request too large"


def refuse_oversized(request: Request) -> None:
    """A 413 before reading a body that cannot fit `MAX_BODY`, as Content-Length says."""
    length = request.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > MAX_BODY:  # not "²"
        raise TooLarge(f"Send at most {LIMITS.max_files} files of up to "
                       f"{LIMITS.max_bytes // (1024 * 1024)} MB each.")


def store_of(request: Request) -> ObjectStore:
    return request.app.state.staging  # type: ignore[no-any-return]


async def stage_upload(store: ObjectStore, upload: UploadFile) -> staging.Staged:
    """Check, clean and stage one uploaded file; `Refused` says why it was not accepted."""
    data = await upload.read(LIMITS.max_bytes + 1)
    await upload.close()
    cleaned = await anyio.to_thread.run_sync(clean, data, LIMITS)
    return await staging.stage(store, cleaned.data, cleaned.media_type)


async def stage_all(store: ObjectStore, uploads: list[UploadFile]
                    ) -> tuple[list[staging.Staged], list[Refused]]:
    """Every file that passes, staged; and why each other one was refused."""
    staged, refused = [], []
    for upload in uploads:
        try:
            staged.append(await stage_upload(store, upload))
        except Refused as exc:
            refused.append(exc)
    return staged, refused


def is_file(value: object) -> bool:
    """A posted part that is a chosen file (browsers send an empty part when none is)."""
    return hasattr(value, "filename") and bool(getattr(value, "filename", "")) and bool(
        getattr(value, "size", 1))
