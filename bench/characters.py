"""`GET /api/characters` at 16 connections: FastWrap against a bare one-query endpoint.

The tenant has 10 characters; both servers list them (FastWrap through its API key, routing,
use case and response model; the floor app with a dict lookup for the key and one SELECT on an
asyncpg pool). The two alternate, round after round, and the result line gives the ratio.

    uv run python bench/characters.py [--rounds 3] [--seconds 8]
"""

from __future__ import annotations

import argparse
import statistics

from options import compared, experiment_options, extra_env
from procfs import stack_meter
from scenario import create_tenant, get_load
from stack import start_stack

CHARACTERS = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="per run")
    experiment_options(parser)
    args = parser.parse_args()
    with start_stack() as stack:
        fastwrap = stack.start_fastwrap(extra_env(args.env), src=args.fastwrap_src)
        servers = {"fastwrap": fastwrap}
        for name, tree in compared(args.compare).items():
            servers[name] = stack.start_fastwrap(extra_env(args.env), src=tree, name=name)
        tenant = create_tenant(fastwrap[1], extra_characters=CHARACTERS - 1)
        servers["bare"] = stack.start_floor(tenant.floor_env())
        for _process, url in servers.values():  # warm: pools filled, statements prepared
            get_load(f"{url}/api/characters", tenant, stack.workdir, connections=16, seconds=2)
        rps: dict[str, list[float]] = {name: [] for name in servers}
        cpu: dict[str, list[float]] = {name: [] for name in servers}
        for round_no in range(1, args.rounds + 1):
            for name, (process, url) in servers.items():
                meter = stack_meter(stack, process)
                meter.start()
                result = get_load(
                    f"{url}/api/characters", tenant, stack.workdir,
                    connections=16, seconds=args.seconds,
                )  # fmt: skip
                used = meter.stop()
                per = {k: v / max(1, result.requests) * 1000 for k, v in used.items()}
                rps[name].append(result.rps)
                cpu[name].append(per["server"])
                print(
                    f"round {round_no} {name:8} {result.describe()}\n    CPU ms per request: "
                    + ", ".join(f"{k} {v:.3f}" for k, v in per.items()),
                    flush=True,
                )
    bare, bare_cpu = statistics.median(rps["bare"]), statistics.median(cpu["bare"])
    for name in [n for n in rps if n != "bare"]:
        fw, fw_cpu = statistics.median(rps[name]), statistics.median(cpu[name])
        ratio = fw / bare
        print(
            f"RESULT GET /api/characters at 16 connections ({CHARACTERS} characters): {name} "
            f"{fw:.0f} req/s, bare one-query endpoint {bare:.0f} req/s, ratio {ratio:.2f} "
            f"(target >= 0.80: {'met' if ratio >= 0.8 else 'NOT met'}); server CPU per "
            f"request: {name} {fw_cpu:.2f} ms, bare {bare_cpu:.2f} ms"
        )


if __name__ == "__main__":
    main()
