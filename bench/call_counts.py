"""Function calls per chat turn, FastWrap against the floor: where the extra Python work is.

Both servers start with cProfile ready but off (a `sitecustomize` in a temporary directory on
their PYTHONPATH: SIGUSR1 switches it on, SIGUSR2 off and writes the stats); after a warm-up,
wrk drives one connection of chat turns while it is on. Calls per turn repeat within about 1%
from run to run, whatever else the machine is doing (7,852, 7,906 and 7,947 for FastWrap;
6,761, 6,789 and 6,754 for the floor), unlike CPU time, which cProfile also inflates: its
times are printed for ranking only.

    uv run python bench/call_counts.py [--seconds 6] [--top 25]

Not a test: it prints figures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import os
import pstats
import re
import signal
import tempfile
import time
from pathlib import Path

from options import experiment_options, extra_env
from scenario import Tenant, chat_load, create_tenant, seed_conversations
from stack import Process, Stack, start_stack

PREFIX = "calls-"
SITECUSTOMIZE = """
import os, signal
if os.environ.get("CALL_COUNTS_OUT"):
    import cProfile
    _profile = cProfile.Profile()
    def _on(*_):
        _profile.enable()
    def _off(*_):
        _profile.disable()
        _profile.dump_stats(os.environ["CALL_COUNTS_OUT"])
    signal.signal(signal.SIGUSR1, _on)
    signal.signal(signal.SIGUSR2, _off)
"""
# Where a function lives, without the machine's paths: the package, or the stdlib module.
PLACE = re.compile(r"(?:site-packages/|/src/|/lib/python3\.\d+/)(?P<rest>.+)$")

type Counts = dict[tuple[str, str], tuple[float, float]]  # (place, function) → (calls, ms)


def counts(stats_file: Path, turns: int) -> Counts:
    found: dict[tuple[str, str], tuple[float, float]] = collections.defaultdict(lambda: (0, 0))
    stats = pstats.Stats(str(stats_file)).stats  # type: ignore[attr-defined]
    for (file, line, function), (_cc, calls, tottime, _ct, _callers) in stats.items():
        match = PLACE.search(file)
        place = f"{match['rest']}:{line}" if match else file
        before = found[(place, function)]
        found[(place, function)] = (before[0] + calls / turns, before[1] + tottime / turns * 1e3)
    return found


def measure(
    name: str, process: Process, url: str, stack: Stack, tenant: Tenant, args: argparse.Namespace
) -> Counts:
    def turns(seconds: float) -> int:
        return chat_load(
            url, tenant, stack.workdir, prefix=PREFIX, conversations=64, connections=1,
            seconds=seconds,
        ).requests  # fmt: skip

    turns(2)  # warm-up, not profiled
    os.kill(process.pid, signal.SIGUSR1)
    measured = turns(args.seconds)
    os.kill(process.pid, signal.SIGUSR2)
    stats_file = args.out / f"{name}.prof"
    deadline = time.monotonic() + 30
    while not stats_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # written whole
    found = counts(stats_file, measured)
    calls = sum(c for c, _ in found.values())
    print(f"{name}: {measured} turns, {calls:,.0f} calls per turn", flush=True)
    return found


def compare(fastwrap: Counts, floor: Counts, top: int) -> None:
    keys = set(fastwrap) | set(floor)
    zero = (0.0, 0.0)

    def diff(key: tuple[str, str], part: int) -> float:
        return fastwrap.get(key, zero)[part] - floor.get(key, zero)[part]

    for title, part in (("more calls per turn", 0), ("more profiled ms per turn", 1)):
        print(f"the {top} functions with the most {title} in FastWrap than in the floor:")
        for key in sorted(keys, key=lambda k: -diff(k, part))[:top]:
            fw, fl = fastwrap.get(key, zero), floor.get(key, zero)
            print(
                f"  {diff(key, 0):+8.1f} calls {diff(key, 1):+7.3f} ms  "
                f"(FastWrap {fw[0]:7.1f}, floor {fl[0]:7.1f})  {key[1]}  {key[0]}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--history", type=int, default=10)
    parser.add_argument("--floor-llm", choices=("sdk", "extra-body", "httpx"), default="extra-body")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, default=None, help="where to keep the stats files")
    experiment_options(parser)
    args = parser.parse_args()
    args.out = args.out or Path(tempfile.mkdtemp(prefix="fastwrap-calls-"))
    args.out.mkdir(parents=True, exist_ok=True)
    hooks = args.out / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    history = {"HISTORY_MAX_MESSAGES": str(args.history)}
    with start_stack() as stack:
        fw_env = history | {"PYTHONPATH": str(hooks), "CALL_COUNTS_OUT": str(args.out / "fw.prof")}
        fw_process, fw_url = stack.start_fastwrap(
            fw_env | extra_env(args.env), src=args.fastwrap_src
        )
        tenant = create_tenant(fw_url)
        floor_process, floor_url = stack.start_floor(
            tenant.floor_env()
            | history
            | {"FLOOR_LLM": args.floor_llm, "CALL_COUNTS_OUT": str(args.out / "floor.prof")}
            | {"PYTHONPATH": str(hooks)}
        )
        found = {}
        for name, process, url in (
            ("fw", fw_process, fw_url),
            ("floor", floor_process, floor_url),
        ):
            seed_conversations(url, tenant, PREFIX, 64, turns=(args.history + 1) // 2)
            found[name] = measure(name, process, url, stack, tenant, args)
    compare(found["fw"], found["floor"], args.top)
    fw_calls = sum(c for c, _ in found["fw"].values())
    floor_calls = sum(c for c, _ in found["floor"].values())
    print(
        f"RESULT calls per chat turn: fastwrap {fw_calls:,.0f}, floor {floor_calls:,.0f} "
        f"({fw_calls / floor_calls:.2f}x; stats in {args.out})"
    )


if __name__ == "__main__":
    main()
