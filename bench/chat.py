"""Chat turns on existing conversations: FastWrap against the floor, in the same run.

Starts PostgreSQL, Redis db 14, the stub, FastWrap and the floor; seeds the conversations so that
every measured prompt has the same size (the history budget is full from the first measured
turn); then alternates the two servers, round after round, at 16 connections (throughput) and at
1 connection (median latency). Prints the rounds, the CPU each process spent per turn, and two
result lines with the ratios the targets are about.

    uv run python bench/chat.py [--rounds 3] [--seconds 8] [--history 10] [--auth key|token]
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass

from load import WrkResult
from options import compared, experiment_options, extra_env, variants
from procfs import stack_meter
from scenario import Tenant, chat_load, create_tenant, seed_conversations, with_credential
from stack import Process, Stack, start_stack

PREFIX = "conv-"


def per_turn_cpu(used: dict[str, float], turns: int) -> str:
    return ", ".join(f"{name} {seconds / turns * 1000:.2f}" for name, seconds in used.items())


type Runs = dict[str, dict[int, list[tuple[WrkResult, float]]]]  # lane → connections → runs


@dataclass(frozen=True, slots=True)
class Lane:
    """One measured line: a server, the credential its turns carry, its conversations."""

    process: Process
    url: str
    tenant: Tenant
    prefix: str


def measure_rounds(stack: Stack, lanes: dict[str, Lane], args: argparse.Namespace) -> Runs:
    """Each run is (wrk's summary, the server's CPU milliseconds per turn)."""
    results: Runs = {name: {16: [], 1: []} for name in lanes}
    for round_no in range(1, args.rounds + 1):
        for connections in (16, 1):
            for name, lane in lanes.items():
                meter = stack_meter(stack, lane.process)
                meter.start()
                result = chat_load(
                    lane.url, lane.tenant, stack.workdir, prefix=lane.prefix,
                    conversations=args.conversations, connections=connections,
                    seconds=args.seconds,
                )  # fmt: skip
                used = meter.stop()
                server_ms = used["server"] / max(1, result.requests) * 1000
                results[name][connections].append((result, server_ms))
                print(
                    f"round {round_no} {name:8} c={connections:<2} {result.describe()}\n"
                    f"    CPU ms per turn: {per_turn_cpu(used, result.requests)}",
                    flush=True,
                )
    return results


def compare_auth(results: Runs, name: str, reference: str) -> str:
    """A credential against the primary key on the same server, in the same rounds."""
    rps = statistics.median(r.rps for r, _ in results[name][16])
    ref_rps = statistics.median(r.rps for r, _ in results[reference][16])
    cpu = statistics.median(c for _, c in results[name][16])
    ref_cpu = statistics.median(c for _, c in results[reference][16])
    p50 = statistics.median(r.p50_ms for r, _ in results[name][1])
    ref_p50 = statistics.median(r.p50_ms for r, _ in results[reference][1])
    return (
        f"RESULT auth {name} against {reference}: {rps:.1f} vs {ref_rps:.1f} turns/s at 16 "
        f"connections (ratio {rps / ref_rps:.2f}); server CPU per turn {cpu:.2f} vs "
        f"{ref_cpu:.2f} ms ({cpu - ref_cpu:+.2f} ms); median at 1 connection {p50:.2f} vs "
        f"{ref_p50:.2f} ms ({p50 - ref_p50:+.2f} ms)"
    )


def compare(results: Runs, name: str, floor: str) -> list[str]:
    rps = statistics.median(r.rps for r, _ in results[name][16])
    floor_rps = statistics.median(r.rps for r, _ in results[floor][16])
    p50 = statistics.median(r.p50_ms for r, _ in results[name][1])
    floor_p50 = statistics.median(r.p50_ms for r, _ in results[floor][1])
    cpu = statistics.median(c for _, c in results[name][16])
    floor_cpu = statistics.median(c for _, c in results[floor][16])
    ratio, extra = rps / floor_rps, p50 - floor_p50
    errors = sum(r.errors for rs in results[name].values() for r, _ in rs)
    return [
        f"RESULT chat throughput at 16 connections: {name} {rps:.1f} turns/s, "
        f"{floor} {floor_rps:.1f} turns/s, ratio {ratio:.2f} (target >= 0.80: "
        f"{'met' if ratio >= 0.8 else 'NOT met'}); server CPU per turn: {name} {cpu:.2f} ms, "
        f"{floor} {floor_cpu:.2f} ms ({floor}/{name} {floor_cpu / cpu:.2f}); errors {errors}",
        f"RESULT chat median latency at 1 connection: {name} {p50:.2f} ms, "
        f"{floor} {floor_p50:.2f} ms, difference {extra:+.2f} ms (target <= +1.00 ms: "
        f"{'met' if extra <= 1.0 else 'NOT met'})",
    ]


def start_servers(
    stack: Stack, args: argparse.Namespace, history: dict[str, str]
) -> tuple[dict[str, Lane], list[str]]:
    """FastWrap, the --compare trees (each with its own Redis key prefix), then the floors; one
    lane per FastWrap server and credential (--auth), one per floor (the first credential)."""
    servers = {
        "fastwrap": stack.start_fastwrap(history | extra_env(args.env), src=args.fastwrap_src)
    }
    for name, tree in compared(args.compare).items():
        env = history | extra_env(args.env) | {"REDIS_KEY_PREFIX": f"{name}:"}
        servers[name] = stack.start_fastwrap(env, src=tree, name=name)
    for name, variant in variants(args.variant).items():
        env = history | extra_env(args.env) | variant | {"REDIS_KEY_PREFIX": f"{name}:"}
        servers[name] = stack.start_fastwrap(env, src=args.fastwrap_src, name=name)
    url = servers["fastwrap"][1]
    primary = create_tenant(url)
    auths = args.auth.split(",")
    tenants = {auth: with_credential(url, primary, auth) for auth in auths}
    lanes = {
        name if auth == auths[0] else f"{name}+{auth}": Lane(
            process, address, tenants[auth], f"{PREFIX}{auth}-"
        )
        for name, (process, address) in servers.items()
        for auth in auths
    }
    floors = []
    first = tenants[auths[0]]
    for how in args.floor_llm.split(","):
        name = "floor" if how == "sdk" else f"floor-{how}"
        process, address = stack.start_floor(first.floor_env() | history | {"FLOOR_LLM": how})
        lanes[name] = Lane(process, address, first, f"{PREFIX}{auths[0]}-")
        floors.append(name)
    return lanes, floors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="per run")
    parser.add_argument("--conversations", type=int, default=256)
    parser.add_argument(
        "--history", type=int, default=10, help="HISTORY_MAX_MESSAGES, for both servers"
    )
    parser.add_argument(
        "--floor-llm", default="extra-body",
        help="how the floor calls the model: sdk, extra-body or httpx (see floor_app.py); "
        "a comma-separated list runs one floor each, the first one is the reference",
    )  # fmt: skip
    parser.add_argument(
        "--auth", default="primary", type=auth_list,
        help="what the turns authenticate with: primary (key), key (a named chat key) or "
        "token (an end-user token); a comma-separated list measures each on every FastWrap "
        "server, in the same rounds, against the first (which the floor checks too)",
    )  # fmt: skip
    experiment_options(parser)
    args = parser.parse_args()
    history = {"HISTORY_MAX_MESSAGES": str(args.history)}
    with start_stack() as stack:
        lanes, floors = start_servers(stack, args, history)
        # Enough turns that every prompt carries a full history budget from the start.
        seed_turns = max(1, (args.history + 1) // 2)
        for lane in lanes.values():
            seed_conversations(
                lane.url, lane.tenant, lane.prefix, args.conversations, turns=seed_turns
            )
        print(
            f"seeded {args.conversations} conversations with {seed_turns} turns each; "
            f"history budget {args.history} messages; floors: {', '.join(floors)}; "
            f"auth: {args.auth}",
            flush=True,
        )
        results = measure_rounds(stack, lanes, args)
    fastwraps = [name for name in lanes if name not in floors]
    for name in fastwraps:
        for floor in floors:
            for line in compare(results, name, floor):
                print(line)
    for name in fastwraps:
        if "+" in name:
            print(compare_auth(results, name, name.split("+")[0]))


def auth_list(text: str) -> str:
    auths = text.split(",")
    if not auths or any(a not in ("primary", "key", "token") for a in auths):
        raise argparse.ArgumentTypeError("a comma-separated list of primary, key, token")
    return text


if __name__ == "__main__":
    main()
