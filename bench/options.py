"""Options every benchmark takes to try a change to FastWrap without touching the repository."""

from __future__ import annotations

import argparse
from pathlib import Path


def experiment_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fastwrap-src",
        type=Path,
        help="run FastWrap from this source tree (e.g. a patched copy of src/) instead",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the FastWrap server (repeatable)",
    )
    parser.add_argument(
        "--compare",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="also run FastWrap from the source tree DIR as server NAME, in the same rounds "
        "(repeatable; an A/B of a change on a shared machine)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=VAR=VALUE[,VAR=VALUE]",
        help="also run this FastWrap as server NAME with that extra environment, in the same "
        "rounds (repeatable; e.g. nometrics=METRICS_ENABLED=false)",
    )


def variants(specs: list[str]) -> dict[str, dict[str, str]]:
    """--variant NAME=VAR=VALUE[,VAR=VALUE...] options as {name: extra environment}."""
    found = {}
    for spec in specs:
        name, sep, assignments = spec.partition("=")
        if not sep or not name:
            raise SystemExit(f"--variant wants NAME=VAR=VALUE[,VAR=VALUE], got {spec!r}")
        found[name] = extra_env(assignments.split(","))
    return found


def compared(pairs: list[str]) -> dict[str, Path]:
    """--compare NAME=DIR options as {name: source tree}."""
    trees = {}
    for name, path in extra_env(pairs).items():
        if not (Path(path) / "fastwrap").is_dir():
            raise SystemExit(f"--compare {name}: {path} has no fastwrap package")
        trees[name] = Path(path)
    return trees


def extra_env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--env wants NAME=VALUE, got {pair!r}")
        env[name] = value
    return env
