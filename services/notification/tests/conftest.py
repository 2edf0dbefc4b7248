"""A real HTTP receiver on 127.0.0.1 for webhook tests: it answers from a script and keeps
every request it got."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    """Answers each request with the next (status, headers, delay) of `script`, then 200."""

    url: str = ""
    script: list[tuple[int, dict[str, str], float]] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    arrived: int = 0  # requests read, answered or not (a delayed answer is still to come)

    def answer(self, status: int, headers: dict[str, str] | None = None,
               delay: float = 0.0) -> None:
        self.script.append((status, headers or {}, delay))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, path, _ = head[0].split(" ", 2)
            headers = {}
            for line in head[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.arrived += 1
            status, extra, delay = self.script.pop(0) if self.script else (200, {}, 0.0)
            if delay:
                await asyncio.sleep(delay)
            self.requests.append(Received(method, path, headers, body.decode()))
            lines = [f"HTTP/1.1 {status} X", "content-length: 0", "connection: close",
                     *[f"{k}: {v}" for k, v in extra.items()]]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    found.url = f"http://127.0.0.1:{port}/hooks/suara"
    async with server:
        yield found
        server.close()
