"""FastWrap's OpenAI-compatible API against its peers, in one run (issue 15).

Starts PostgreSQL, Redis db 14, the zero-latency stub, FastWrap (one worker) and LiteLLM's proxy
(one worker, no database, pointed at the same stub), then measures, round after round, at 16
connections (throughput) and 1 connection (median latency):

- stub: the stub called directly (what any proxy in front of it adds to);
- litellm: LiteLLM's proxy, stateless: a system prompt + 10 history messages + the new one;
- v1-stateless: FastWrap's /v1/chat/completions with that same body;
- v1-stateful: /v1/chat/completions with only the new message, on a stored conversation whose
  history holds 10 messages (the history budget is full from the first measured turn);
- v1-responses: /v1/responses with only the new input, continuing those same conversations;
- api-chat: FastWrap's own /api/chat turn on such conversations (the reference).

The verdicts compare each FastWrap row with api-chat (and LiteLLM) round by round, then take
the median, as bench/chat.py does with its floor. "CPU ms/req" is the server's own CPU time
per request, read from /proc: it moves much less with the neighbours than requests per second.

LiteLLM runs from its own virtualenv, never a project dependency:

    uv venv /tmp/litellm-venv && uv pip install --python /tmp/litellm-venv 'litellm[proxy]'
    uv run python bench/peers.py [--litellm-venv /tmp/litellm-venv] [--rounds 3] [--seconds 8]

Without that venv the LiteLLM row is left out (and the run says so).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from load import WrkResult, run_wrk, script
from procfs import stack_meter
from scenario import AGENT_ROLE, CHAT_CONTENT, Tenant, create_tenant, seed_conversations
from stack import MODEL_KEY, Process, Stack, free_port, start_stack

HISTORY = 10
API_PREFIX, V1_PREFIX = "conv-", "v1-"
CONVERSATIONS = 256
LITELLM_KEY = "sk-" + secrets.token_hex(16)  # it refuses weak master keys

type Runs = dict[str, dict[int, list[tuple[WrkResult, float]]]]


def history_messages() -> list[dict[str, str]]:
    pairs = [("user", f"Question {n}: what is on deck?") for n in range(HISTORY // 2)]
    messages = []
    for role, text in pairs:
        messages += [{"role": role, "content": text}, {"role": "assistant", "content": "Ahoy!"}]
    return messages


def stateless_body(model: str) -> dict[str, object]:
    messages = [{"role": "system", "content": AGENT_ROLE}, *history_messages()]
    return {"model": model, "messages": [*messages, {"role": "user", "content": CHAT_CONTENT}]}


def start_litellm(stack: Stack, venv: Path) -> tuple[Process, str]:
    config = stack.workdir / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: bench-model\n"
        "    litellm_params:\n"
        "      model: openai/bench-model\n"
        f"      api_base: {stack.stub_url}\n"
        f"      api_key: {MODEL_KEY}\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
    )
    port = free_port()
    argv = [
        str(venv / "bin" / "litellm"),
        "--config",
        str(config),
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--num_workers",
        "1",
    ]
    # No database and no Redis: the proxy as a pure gateway (it reads DATABASE_URL, REDIS_*).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env |= {"LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False"}
    env["LITELLM_MASTER_KEY"] = LITELLM_KEY  # it refuses to start without one
    process = stack.spawn("litellm", argv, env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"litellm exited at start-up:\n{process.tail()}")
        try:
            if httpx.get(f"{url}/health/liveliness", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"litellm did not start:\n{process.tail()}")


def write_body(stack: Stack, name: str, body: dict[str, object]) -> Path:
    path = stack.workdir / f"{name}.json"
    path.write_text(json.dumps(body))
    return path


@dataclass(frozen=True, slots=True)
class Target:
    """One thing measured: where wrk posts, what, and over how many conversations."""

    process: Process
    base: str
    path: str
    body: Path
    conversations: int = 1
    key: str | None = None  # the tenant's when None


def targets(
    stack: Stack, fastwrap: tuple[Process, str], tenant: Tenant, litellm: tuple[Process, str] | None
) -> dict[str, Target]:
    character, v1 = tenant.character_id, "/v1/chat/completions"
    stub = next(p for p in stack.processes if p.name == "stub")
    body = stateless_body("bench-model")
    found = {
        "stub": Target(
            stub, stack.stub_url.removesuffix("/v1"), v1, write_body(stack, "stub", body)
        )
    }
    if litellm is not None:
        found["litellm"] = Target(*litellm, v1, write_body(stack, "litellm", body), key=LITELLM_KEY)
    stateful = {
        "model": character,
        "conversation": V1_PREFIX + "{i}",
        "messages": [{"role": "user", "content": CHAT_CONTENT}],
    }
    responses = {"model": character, "conversation": V1_PREFIX + "{i}", "input": CHAT_CONTENT}
    api = {
        "character_id": character,
        "content": CHAT_CONTENT,
        "conversation_id": API_PREFIX + "{i}",
    }
    found |= {
        "v1-stateless": Target(
            *fastwrap, v1, write_body(stack, "v1-stateless", stateless_body(character))
        ),
        "v1-stateful": Target(
            *fastwrap, v1, write_body(stack, "v1-stateful", stateful), CONVERSATIONS
        ),
        "v1-responses": Target(
            *fastwrap, "/v1/responses", write_body(stack, "v1-responses", responses), CONVERSATIONS
        ),
        "api-chat": Target(
            *fastwrap, "/api/chat", write_body(stack, "api-chat", api), CONVERSATIONS
        ),
    }
    return found


def load(target: Target, key: str, workdir: Path, connections: int, seconds: float) -> WrkResult:
    args = [target.path, str(target.body), target.key or key, str(target.conversations), "1"]
    url = target.base + target.path
    return run_wrk(url, script("post", workdir), args, connections=connections, seconds=seconds)


def check(stack: Stack, name: str, target: Target, key: str) -> None:
    """One request of each kind answers 2xx before anything is measured."""
    body = target.body.read_text().replace("{i}", "0")
    key = target.key or key
    headers = {
        "Authorization": f"Bearer {key}",
        "x-api-key": key,
        "content-type": "application/json",
    }
    answer = httpx.post(target.base + target.path, content=body, headers=headers, timeout=30)
    if answer.status_code >= 300:
        raise RuntimeError(f"{name}: {answer.status_code} {answer.text[:300]}")


def measure(stack: Stack, found: dict[str, Target], key: str, args: argparse.Namespace) -> Runs:
    runs: Runs = {name: {16: [], 1: []} for name in found}
    for target in found.values():  # warm up: imports, pools, caches (LiteLLM's first calls)
        load(target, key, stack.workdir, 16, min(2.0, args.seconds))
    for round_no in range(1, args.rounds + 1):
        for connections in (16, 1):
            for name, target in found.items():
                meter = stack_meter(stack, target.process)
                meter.start()
                result = load(target, key, stack.workdir, connections, args.seconds)
                used = meter.stop()
                cpu_ms = used["server"] / max(1, result.requests) * 1000
                runs[name][connections].append((result, cpu_ms))
                print(
                    f"round {round_no} {name:12} c={connections:<2} {result.describe()} "
                    f"server CPU {cpu_ms:.2f} ms/request",
                    flush=True,
                )
    return runs


def median(runs: list[tuple[WrkResult, float]], what: str) -> float:
    if what == "cpu":
        return statistics.median(cpu for _, cpu in runs)
    return statistics.median(getattr(r, what) for r, _ in runs)


def table(runs: Runs) -> list[str]:
    header = ["target", "req/s c=16", "p50 ms c=16", "req/s c=1", "p50 ms c=1"]
    header += ["CPU ms/req c=16", "CPU ms/req c=1", "errors"]
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * 7 + "|"]
    for name, by in runs.items():
        cells = [
            f"{median(by[16], 'rps'):.1f}",
            f"{median(by[16], 'p50_ms'):.2f}",
            f"{median(by[1], 'rps'):.1f}",
            f"{median(by[1], 'p50_ms'):.2f}",
            f"{median(by[16], 'cpu'):.2f}",
            f"{median(by[1], 'cpu'):.2f}",
            str(sum(r.errors for rs in by.values() for r, _ in rs)),
        ]
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return lines


def verdict(label: str, value: float, target: float, unit: str = "x") -> str:
    met = value <= target if unit == "ms" else value >= target
    shown = (
        f"{value:+.2f} ms (target <= +{target:.2f} ms"
        if unit == "ms"
        else (f"{value:.2f}x (target >= {target:.2f}x")
    )
    return f"RESULT {label}: {shown}: {'met' if met else 'NOT met'})"


def paired(runs: Runs, name: str, other: str, connections: int, what: str) -> float:
    """The median over rounds of `name`'s figure against `other`'s in the same round (a ratio
    of throughputs, a difference of medians): neighbours on a shared machine move both."""
    pairs = zip(runs[name][connections], runs[other][connections], strict=True)
    if what == "ratio":
        return statistics.median(a.rps / b.rps for (a, _), (b, _) in pairs)
    return statistics.median(a.p50_ms - b.p50_ms for (a, _), (b, _) in pairs)


def verdicts(runs: Runs) -> list[str]:
    lines = [
        verdict("v1-stateless / api-chat throughput at 16",
                paired(runs, "v1-stateless", "api-chat", 16, "ratio"), 1.0),
        verdict("v1-stateful / api-chat throughput at 16",
                paired(runs, "v1-stateful", "api-chat", 16, "ratio"), 0.9),
    ]  # fmt: skip
    for name in ("v1-stateless", "v1-stateful"):
        extra = paired(runs, name, "api-chat", 1, "difference")
        lines.append(verdict(f"{name} - api-chat median at 1", extra, 0.5, "ms"))
        if "litellm" in runs:
            ratio = paired(runs, name, "litellm", 16, "ratio")
            lines.append(verdict(f"{name} / litellm throughput at 16", ratio, 5.0))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="per run")
    parser.add_argument(
        "--litellm-venv",
        type=Path,
        default=Path("/tmp/litellm-venv"),
        help="a virtualenv with litellm[proxy] installed (see the module docstring)",
    )
    args = parser.parse_args()
    litellm_bin = args.litellm_venv / "bin" / "litellm"
    with start_stack() as stack:
        fastwrap = stack.start_fastwrap({"HISTORY_MAX_MESSAGES": str(HISTORY)})
        tenant = create_tenant(fastwrap[1])
        litellm = None
        if litellm_bin.exists():
            litellm = start_litellm(stack, args.litellm_venv)
        else:
            print(
                f"LiteLLM is missing ({litellm_bin} not found): its row is left out. "
                f"Install it with: uv venv {args.litellm_venv} && "
                f"uv pip install --python {args.litellm_venv} 'litellm[proxy]'",
                flush=True,
            )
        turns = HISTORY // 2
        seed_conversations(fastwrap[1], tenant, API_PREFIX, CONVERSATIONS, turns=turns)
        seed_conversations(fastwrap[1], tenant, V1_PREFIX, CONVERSATIONS, turns=turns)
        found = targets(stack, fastwrap, tenant, litellm)
        for name, target in found.items():
            check(stack, name, target, tenant.api_key)
        print(
            f"seeded {CONVERSATIONS} conversations per API with {turns} turns each "
            f"(history budget {HISTORY} messages)",
            flush=True,
        )
        runs = measure(stack, found, tenant.api_key, args)
    print()
    print("\n".join(table(runs)))
    print("\n".join(verdicts(runs)))


if __name__ == "__main__":
    main()
