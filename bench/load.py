"""The load generator: Debian's `wrk` in a process of its own, one parsed summary per run."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

WRK_DIR = Path(__file__).resolve().parent / "wrk"


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package only when it is missing."""
    found = shutil.which("wrk")
    if found is not None:
        return found
    print("wrk is missing: apt-get install -y wrk", flush=True)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
    if shutil.which("wrk") is None:  # the package lists may be stale
        subprocess.run(["apt-get", "update"], check=False, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed and apt-get could not install it")
    return found


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def describe(self) -> str:
        return (
            f"{self.rps:8.1f} req/s  p50 {self.p50_ms:6.2f} ms  p99 {self.p99_ms:6.2f} ms  "
            f"({self.requests} requests, {self.errors} errors)"
        )


def script(name: str, workdir: Path) -> Path:
    """wrk takes one script: the named one followed by the shared summary printer."""
    path = workdir / f"{name}.lua"
    text = (WRK_DIR / f"{name}.lua").read_text() + "\n" + (WRK_DIR / "summary.lua").read_text()
    path.write_text(text)
    return path


def run_wrk(
    url: str,
    lua: Path,
    args: list[str],
    *,
    connections: int,
    seconds: float,
    threads: int = 1,
) -> WrkResult:
    argv = [
        ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
        "-s", str(lua), url, "--", *args,
    ]  # fmt: skip
    done = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=seconds + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line[4:])
    errors = sum(raw[k] for k in raw if k.endswith("_errors")) + raw["timeouts"]
    return WrkResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        errors=errors,
    )
