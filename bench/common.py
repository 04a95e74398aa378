"""What every benchmark shares: running commands, starting a private ownstack, reading a
process's memory, appending dated results, and running the peers' load generator
(``/work/shared/peers``) against ownstack or the real OpenStack services."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from ownstack.common.config import Config


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` (an argument list), raising on failure, with text output captured."""
    result: subprocess.CompletedProcess[str] = subprocess.run(
        cmd, check=True, text=True, capture_output=True, **kwargs)
    return result


def port_options() -> list[str]:
    """``section.port`` for every service that has a port and ``section.<name>_port`` for
    every other listening port (the console proxies'), read from the config itself, so a
    new service is moved off its standard port without touching the benchmarks."""
    defaults = Config()
    options = []
    for section in dataclasses.fields(Config):
        value = getattr(defaults, section.name)
        if not dataclasses.is_dataclass(value):
            continue
        # A listening port's default is a port number (max_fixed_ips_per_port's is not).
        options += [f"{section.name}.{f.name}" for f in dataclasses.fields(value)
                    if f.name == "port" or (f.name.endswith("_port")
                                            and isinstance(getattr(value, f.name), int)
                                            and getattr(value, f.name) >= 1024)]
    return options


def free_ports() -> int:
    """A free loopback port followed by enough free ports for every service, all below the
    kernel's ephemeral range, so no outgoing connection can take one before ownstack binds
    it (a port from ``bind(0)`` is in that range)."""
    count = len(port_options())
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(200):
        base = random.randrange(10_000, low - count)
        try:
            for offset in range(count):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports below {low}")


def ownstack(state: Path, base_port: int, password: str, *args: str,
             timeout: float = 300, settings: Sequence[str] = ()
             ) -> subprocess.CompletedProcess[str]:
    """``ownstack`` on a private state dir, every service on consecutive ports from
    ``base_port`` (identity first), so a benchmark never touches a running cloud.
    ``settings`` are more ``section.key=value`` overrides."""
    env = {**os.environ, "OWNSTACK_ADMIN_PASSWORD": password, "HOME": str(state.parent)}
    command = [sys.executable, "-m", "ownstack", "--state-dir", str(state)]
    for offset, option in enumerate(port_options()):
        command += ["--set", f"{option}={base_port + offset}"]
    if not any(item.startswith("network.driver=") for item in settings):
        command += ["--set", "network.driver=fake"]    # a benchmark makes no host bridges
    for item in settings:
        command += ["--set", item]
    return run([*command, *args], env=env, timeout=timeout)


def stop_ownstack(state: Path) -> None:
    subprocess.run([sys.executable, "-m", "ownstack", "--state-dir", str(state), "down"],
                   capture_output=True, check=False)


def admin_token(http: httpx.Client, base_port: int, password: str) -> str:
    """A token of the private ownstack's admin, scoped to the admin project."""
    r = http.post(f"http://127.0.0.1:{base_port}/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    r.raise_for_status()
    return r.headers["X-Subject-Token"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reference_loop_ms() -> float:
    """CPU milliseconds of a fixed pure-Python loop (a million multiply-adds), best of three:
    how fast one thread of this machine runs Python right now. A VM slowed by its host
    (steal time) shows here, so that runs of different days can be told apart."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        total = 0
        for i in range(1_000_000):
            total += i * i
        best = min(best, time.process_time() - started)
    return round(best * 1000, 1)


def host_cpu_times() -> list[int]:
    """The host's CPU time counters (``/proc/stat``'s ``cpu`` line, in ticks)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()
    return [int(value) for value in fields[1:]]


def steal_percent(before: Sequence[int], after: Sequence[int]) -> float:
    """Steal time (the hypervisor running something else on this VM's cores) between two
    ``host_cpu_times``, as a percentage of all CPU time."""
    delta = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(delta[:8])   # user .. steal; guest time is counted in user already
    return round(100 * delta[7] / total, 1) if total else 0.0


@dataclasses.dataclass
class MachineRecord:
    """The machine's speed over a run: the reference loop at the start and the end, and
    the steal time between."""

    loop_start_ms: float = dataclasses.field(default_factory=reference_loop_ms)
    times_start: list[int] = dataclasses.field(default_factory=host_cpu_times)

    def line(self) -> str:
        steal = steal_percent(self.times_start, host_cpu_times())
        return (f"Machine speed: a reference Python loop (`bench/common.py`) took "
                f"{self.loop_start_ms:g} ms of CPU at the start and {reference_loop_ms():g} "
                f"at the end; steal time {steal:g}% of the CPU time over the run.")


def append_results(path: Path, header: str, text: str) -> None:
    """Append a dated section; ``header`` starts the file the first time."""
    first = not path.exists() or path.stat().st_size == 0
    with path.open("a") as handle:
        handle.write((header if first else "") + text + "\n")


# The real OpenStack services that ``../shared/peers/setup-openstack-compute-peers.sh``
# starts: their Keystone, its admin password, and the pidfiles of every peer process.
PEER_KEYSTONE = "http://127.0.0.1:35357/v3"
PEER_PASSWORD = "secret"
PEER_PIDS = "@/tmp/ospeers/run/*.pid"


def default_peers_dir() -> Path:
    """``shared/peers`` beside the checkout (``../shared/peers``), or beside the folder of
    worktrees that holds it."""
    here = Path(__file__).resolve()
    for folder in here.parents[2:4]:
        if (folder / "shared" / "peers").is_dir():
            return folder / "shared" / "peers"
    return here.parents[2] / "shared" / "peers"


def peer_answers() -> bool:
    """Whether the peers' Keystone answers (the peers are running)."""
    try:
        with urllib.request.urlopen(PEER_KEYSTONE, timeout=3) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def ownstack_pid(state: Path, base_port: int, password: str,
                 settings: Sequence[str] = ()) -> int:
    """The PID of the ownstack process running on ``state``."""
    status = ownstack(state, base_port, password, "status", "--json", settings=settings)
    return int(json.loads(status.stdout)["pid"])


def peer_generator(peers: Path, out: Path, label: str, keystone: str, password: str,
                   server_pids: str, suite_args: Sequence[str],
                   infra_pids: str = "") -> dict[str, Any]:
    """One run of the peers' load generator (``bench_compute_network_peers.py``) as the
    admin, with ``suite_args`` (``--suites ...`` and its options); its JSON document.
    The ``OS_*`` variables of the caller's shell are not passed on, so only the given
    Keystone is used."""
    command = [sys.executable, str(peers / "bench_compute_network_peers.py"),
               "--keystone-url", keystone, "--username", "admin", "--password", password,
               "--project", "admin", *suite_args, "--server-pids", server_pids,
               "--label", label, "--out", str(out)]
    if infra_pids:
        command += ["--infra-pids", infra_pids]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    subprocess.run(command, check=True, env=env, timeout=3600)
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The load generator's measurements by name."""
    return {m["name"]: m for m in document.get("measurements", [])}


def ratio(own: float | None, peer: float | None) -> str:
    if not own or not peer:
        return "-"
    return f"{own / peer:.1f}x"


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds that process ``pid`` has used (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class TreeSide:
    """One source tree's private ownstack for the side-by-side tools (``bench/ab_*.py``):
    started from the tree's own directory with ``PYTHONPATH`` set to it, every service on
    its own free ports, with ``settings`` (``section.key=value``) on top."""

    def __init__(self, name: str, tree: Path, work: Path, password: str,
                 settings: Sequence[str]) -> None:
        self.name, self.tree = name, tree
        self.base = free_ports()
        self.env = {**os.environ, "OWNSTACK_ADMIN_PASSWORD": password, "HOME": str(work),
                    "PYTHONPATH": str(tree)}
        self.command = [sys.executable, "-m", "ownstack", "--state-dir",
                        str(work / f"state-{name}")]
        for offset, option in enumerate(port_options()):
            self.command += ["--set", f"{option}={self.base + offset}"]
        for item in settings:
            self.command += ["--set", item]
        self.pid = 0

    def port(self, option: str) -> int:
        """The port this side gave ``option`` (``network.port``, ...)."""
        return self.base + port_options().index(option)

    def start(self) -> None:
        """``ownstack up`` and the PID of the process it started."""
        subprocess.run([*self.command, "up", "--no-user-clouds-yaml"], env=self.env,
                       cwd=self.tree, check=True, capture_output=True, timeout=300)
        status = subprocess.run([*self.command, "status", "--json"], env=self.env,
                                cwd=self.tree, check=True, capture_output=True, text=True)
        self.pid = int(json.loads(status.stdout)["pid"])

    def down(self) -> None:
        subprocess.run([*self.command, "down"], env=self.env, cwd=self.tree,
                       capture_output=True, check=False)

    def cpu(self) -> float:
        return process_cpu_seconds(self.pid)
