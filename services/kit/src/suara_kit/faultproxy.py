"""A TCP proxy that a test can cut: put it between the services and a dependency (PostgreSQL),
then `cut()` closes every connection through it and refuses new ones, as a dependency that
went away does, until `restore()`.

It runs its own event loop on a thread of its own, so a test can drive it from plain code or
from inside another event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Coroutine
from typing import Any

from suara_kit.natsserver import free_port


class FaultProxy:
    """Forwards 127.0.0.1:`port` to `upstream` (host, port) while it is up."""

    def __init__(self, upstream: tuple[str, int], port: int | None = None) -> None:
        self.upstream, self.port = upstream, port or free_port()
        self.accepted = 0  # connections accepted since start, across cuts
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy",
                                        daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # the test's side
    def start(self) -> FaultProxy:
        """Start forwarding."""
        self._thread.start()
        self._run(self._listen())
        return self

    def cut(self) -> None:
        """Stop listening (new connections are refused) and reset every open connection."""
        self._run(self._cut())

    def restore(self) -> None:
        """Listen again on the same port."""
        self._run(self._listen())

    @property
    def is_up(self) -> bool:
        """Whether it forwards right now."""
        return self._server is not None

    def close(self) -> None:
        """Cut and stop the proxy's thread."""
        if self._thread.is_alive():
            self.cut()
            self._run(self._finish())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()

    async def _finish(self) -> None:
        """Cancel what is still running on the proxy's loop (connections being accepted or
        piped), so that every transport is closed before the loop is."""
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # the proxy's loop
    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port,
                                                      reuse_address=True)

    async def _cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()  # no new connections: the port refuses them
        for writer in list(self._writers):
            sock = writer.get_extra_info("socket")
            if sock is not None:  # RST, not FIN: the peer sees the connection reset at once
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    b"\x01\x00\x00\x00\x00\x00\x00\x00")
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._server is None:  # accepted in the moment of a cut
            writer.transport.abort()
            return
        self.accepted += 1
        self._writers.add(writer)  # a cut from now on closes it, even before it is piped
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:  # refused: the database is away
            self._writers.discard(writer)
            writer.transport.abort()
            return
        except BaseException:  # cancelled when the proxy closes
            self._writers.discard(writer)
            writer.transport.abort()
            raise
        self._writers.add(up_writer)
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            for each in (writer, up_writer):
                self._writers.discard(each)
                each.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                if writer.can_write_eof():
                    writer.write_eof()
