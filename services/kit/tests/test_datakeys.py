"""Per-case data keys: content opens only with its own case's key, only on its own row, and
never again once the key is shredded (even with the key-encryption key in hand)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from suara_kit.datakeys import DataKeyRow, KeyRing, Shredded, key_ring
from suara_kit.ids import uuid7
from suara_kit.sealing import SealError
from suara_kit.settings import ServiceSettings


class _Metadata(SQLModel):
    metadata = SQLModel.metadata.__class__()


class KeysTable(DataKeyRow, _Metadata, table=True):
    __tablename__ = "data_key"


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/keys.sqlite")
    async with engine.begin() as conn:
        await conn.run_sync(KeysTable.metadata.create_all)
    async with AsyncSession(engine, expire_on_commit=False) as s:
        yield s
    await engine.dispose()


def ring(secret: str = "a-test-key-encryption-key", previous: tuple[str, ...] = ()) -> KeyRing:
    settings = ServiceSettings(content_key=secret, content_previous_keys=list(previous))
    return key_ring(settings, KeysTable)


async def test_content_round_trips_and_the_row_holds_no_plaintext(session: AsyncSession) -> None:
    keys, case = ring(), uuid7()
    key = await keys.create(session, case)
    sealed = key.seal_json({"employer": "Puan Lim", "wage": "unpaid"}, "answers")
    await session.commit()
    assert b"Puan Lim" not in sealed
    again = await keys.get(session, case)
    assert again.open_json(sealed, "answers") == {"employer": "Puan Lim", "wage": "unpaid"}
    row = await session.get(KeysTable, case)
    assert row is not None
    assert len(row.wrapped) > 32  # stored wrapped, never raw


async def test_a_blob_opens_only_with_its_case_and_row(session: AsyncSession) -> None:
    keys = ring()
    one, two = uuid7(), uuid7()
    key_one, key_two = await keys.create(session, one), await keys.create(session, two)
    sealed = key_one.seal_text("my passport is held", "message:1")
    with pytest.raises(SealError):
        key_two.open_text(sealed, "message:1")  # another case's key
    with pytest.raises(SealError):
        key_one.open_text(sealed, "message:2")  # moved onto another row
    tampered = sealed[:-1] + bytes((sealed[-1] ^ 1,))
    with pytest.raises(SealError):
        key_one.open_text(tampered, "message:1")


async def test_shredding_makes_every_copy_unreadable(session: AsyncSession) -> None:
    keys, case = ring(), uuid7()
    sealed = (await keys.create(session, case)).seal_text("the agency took my passport")
    await session.commit()
    backup_copy = bytes(sealed)  # what a dump or a backup holds
    assert await keys.shred(session, case) is True
    await session.commit()
    with pytest.raises(Shredded) as refused:
        await keys.get(session, case)
    assert refused.value.status == 410
    assert await keys.find(session, case) is None
    assert await keys.shred(session, case) is False  # shredding twice is harmless
    # a new key for the same case cannot open the old content either
    fresh = await keys.create(session, case)
    with pytest.raises(SealError):
        fresh.open_text(backup_copy)


async def test_a_rotated_key_encryption_key_still_unwraps_older_keys(
        session: AsyncSession) -> None:
    case = uuid7()
    sealed = (await ring("the-old-key-encryption-key").create(session, case)).seal_text("x")
    await session.commit()
    rotated = ring("the-new-key-encryption-key", previous=("the-old-key-encryption-key",))
    assert (await rotated.get(session, case)).open_text(sealed) == "x"
    with pytest.raises(SealError):
        await ring("someone-elses-key-encryption-key").get(session, case)

