"""A throwaway 3-master Redis Cluster on loopback ports, from the machine's `redis-server`.

Each node is a foreground `redis-server` child (no persistence) in a temporary directory;
`redis-cli --cluster create` assigns the slots. `stop()` kills the nodes and removes the
directory, so a failed test leaves nothing running.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis
from redis.exceptions import RedisError

NODES = 3
BUS_OFFSET = 10_000  # Redis Cluster's node-to-node bus listens on port + 10000
PORT_RANGE = (20_000, 30_000)  # so that port + 10000 stays a valid, non-ephemeral port
READY_SECONDS = 20.0


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_cluster_ports(count: int) -> list[int]:
    """Ports whose cluster-bus twins are free too."""
    ports: list[int] = []
    while len(ports) < count:
        port = random.randrange(*PORT_RANGE)  # not a secret: just spreads parallel runs apart
        if port not in ports and _port_is_free(port) and _port_is_free(port + BUS_OFFSET):
            ports.append(port)
    return ports


class LocalRedisCluster:
    def __init__(self, redis_server: str, redis_cli: str) -> None:
        self._server = redis_server
        self._cli = redis_cli
        self.directory = Path(tempfile.mkdtemp(prefix="fastwrap-test-cluster-"))
        self.ports = free_cluster_ports(NODES)
        self._processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """What FastWrap's REDIS_URL would be: any one node, the client discovers the rest."""
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def node(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, decode_responses=True, socket_timeout=2)

    def _node_command(self, port: int) -> list[str]:
        return [
            self._server,
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--cluster-enabled", "yes",
            "--cluster-config-file", f"nodes-{port}.conf",
            "--daemonize", "no",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--logfile", str(self.directory / f"redis-{port}.log"),
        ]  # fmt: skip

    def start(self) -> None:
        for port in self.ports:
            self._processes.append(
                subprocess.Popen(
                    self._node_command(port),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        self._wait_for(self._pings, "answer PING")
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        create = [self._cli, "--cluster", "create", *nodes, "--cluster-replicas", "0"]
        subprocess.run(
            [*create, "--cluster-yes"], check=True, capture_output=True, timeout=READY_SECONDS
        )
        self._wait_for(self._cluster_ok, "report cluster_state:ok")

    def _pings(self, port: int) -> bool:
        with self.node(port) as node:
            return bool(node.ping())

    def _cluster_ok(self, port: int) -> bool:
        with self.node(port) as node:
            info = str(node.execute_command("CLUSTER", "INFO"))
        return "cluster_state:ok" in info and "cluster_slots_ok:16384" in info

    def _wait_for(self, check: Callable[[int], bool], what: str) -> None:
        deadline = time.monotonic() + READY_SECONDS
        pending = list(self.ports)
        while pending:
            port = pending[0]
            try:
                ready = check(port)
            except (RedisError, OSError):
                ready = False
            if ready:
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise RuntimeError(f"Redis Cluster node {port} did not {what} in time")
            time.sleep(0.05)

    def keys_in_slot(self, slot: int) -> set[str]:
        """The keys stored in `slot`, from whichever node owns it."""
        found: set[str] = set()
        for port in self.ports:
            with self.node(port) as node:
                found |= set(node.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 1000))
        return found

    def stop(self) -> None:
        for process in self._processes:
            process.kill()
        for process in self._processes:
            process.wait(timeout=10)
        self._processes.clear()
        shutil.rmtree(self.directory, ignore_errors=True)
