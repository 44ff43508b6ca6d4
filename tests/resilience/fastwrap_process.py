"""FastWrap as a real server process (`uvicorn --factory ...app_from_env`), for kill tests.

The environment is built from scratch, not inherited, so that nothing set on the machine
(REDIS_URL, a .env in the working directory) changes what the test runs: the process starts
in an empty temporary directory with only the variables given.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

READY_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FastWrapProcess:
    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self._workdir = workdir
        self._env = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir), **env}
        self._process: subprocess.Popen[bytes] | None = None
        self.base_url = ""

    def start(self) -> None:
        port = free_port()
        command = [
            sys.executable, "-m", "uvicorn", "--factory",
            "fastwrap.entrypoints.http.asgi:app_from_env",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        ]  # fmt: skip
        log = (self._workdir / "server.log").open("ab")
        self._process = subprocess.Popen(
            command, cwd=self._workdir, env=self._env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.base_url = f"http://127.0.0.1:{port}"
        self._wait_until_healthy()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"FastWrap exited at start-up:\n{self.log()}")
            try:
                if httpx.get(self.base_url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"FastWrap was not healthy in time:\n{self.log()}")

    def log(self) -> str:
        path = self._workdir / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, in-flight requests are cut off."""
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)
            self._process = None

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None
