"""Run every benchmark in turn and print their result lines at the end.

    uv run python bench/all.py [--memory] [--profile] [-- extra options for each benchmark]

The memory benchmark (about 10 minutes) and the py-spy profile run only when asked for.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", action="store_true", help="also run memory.py (~10 min)")
    parser.add_argument("--profile", action="store_true", help="also run profile_chat.py")
    args, extra = parser.parse_known_args()
    scripts = ["roundtrips.py", "chat.py", "characters.py", "workers.py", "llm_overhead.py"]
    scripts += ["profile_chat.py"] * args.profile + ["memory.py"] * args.memory
    results = []
    for script in scripts:
        print(f"=== {script}", flush=True)
        options = [] if script == "llm_overhead.py" else extra
        run = subprocess.run(
            [sys.executable, str(BENCH / script), *options],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
        )  # fmt: skip
        print(run.stdout, flush=True)
        lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT")]
        results += lines or [f"RESULT {script}: failed (exit {run.returncode})"]
    print("\n".join(results))


if __name__ == "__main__":
    main()
