"""The ``ownstack`` command: up, down, status, reset, seed, show, token-keys.

``ownstack up`` starts the all-in-one cloud in the background and returns once every
service answers; ``--foreground`` keeps it in this terminal with readable logs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from ownstack.common import statedir
from ownstack.common.config import Config, ConfigError, load_config
from ownstack.common.log import setup_logging
from ownstack.roles import (
    API_SERVICES,
    CATALOG_SERVICES,
    ROLE_NAMES,
    check_process_can_run,
    select,
)

HEALTH_TIMEOUT = 60.0


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        config = _config(args)
    except ConfigError as exc:
        print(f"ownstack: configuration error: {exc}", file=sys.stderr)
        return 2
    result: int = args.func(config, args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ownstack", description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, help="state directory "
                        "(default: $OWNSTACK_STATE_DIR or /var/lib/ownstack)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="SECTION.KEY=VALUE", help="override a config option")
    sub = parser.add_subparsers(metavar="COMMAND")

    up = sub.add_parser("up", help="initialise if needed and start the cloud")
    up.add_argument("--foreground", action="store_true", help="run in this terminal")
    up.add_argument("--database", help="database URL (PostgreSQL, MariaDB; default SQLite)")
    up.add_argument("--host", help="address to listen on and to publish in the catalog")
    up.add_argument("--roles", help=f"what this process runs, comma-separated: "
                    f"{', '.join(ROLE_NAMES)} (default: all of them; a subset needs "
                    f"bus.url on RabbitMQ)")
    up.add_argument("--no-user-clouds-yaml", action="store_true",
                    help="do not merge the cloud into ~/.config/openstack/clouds.yaml")
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="stop the cloud, keep its state (guests keep running)")
    down.set_defaults(func=cmd_down)

    status = sub.add_parser("status", help="health and address of every service")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)

    reset = sub.add_parser("reset", help="stop the cloud and wipe all its state")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    reset.set_defaults(func=cmd_reset)

    seed = sub.add_parser("seed", help="register the test image, the m1.nano/m1.tiny "
                          "flavors, the host-only external network `public` and SSH and "
                          "ping in the admin's default security group, where missing "
                          "(make up runs it)")
    seed.add_argument("--image", type=Path, help="the ownstack-tiny qcow2 to register "
                      "(tools/build-test-image prints its path)")
    seed.set_defaults(func=cmd_seed)

    show = sub.add_parser("show", help="the real objects behind a resource")
    show_sub = show.add_subparsers(metavar="RESOURCE")
    show_server = show_sub.add_parser(
        "server", help="QEMU pid and command line, QMP socket, disks, taps, boot phases")
    show_server.add_argument("server", metavar="NAME_OR_ID")
    show_server.add_argument("--json", action="store_true", help="machine-readable output")
    show_server.set_defaults(func=cmd_show_server)
    show_volume = show_sub.add_parser(
        "volume", help="its file, format and backing file; the QMP node and device of each "
                       "guest it is plugged into")
    show_volume.add_argument("volume", metavar="NAME_OR_ID")
    show_volume.add_argument("--json", action="store_true", help="machine-readable output")
    show_volume.set_defaults(func=cmd_show_volume)
    for kind, what in (("port", "its tap, bridge and filter chains with their counters"),
                       ("router", "its namespace, legs, routes and NAT rules with counters"),
                       ("network", "its bridge on each host, its DHCP server: namespace, "
                                   "dnsmasq, host entries, leases")):
        shown = show_sub.add_parser(kind, help=what)
        shown.add_argument("name", metavar="NAME_OR_ID")
        shown.add_argument("--json", action="store_true", help="machine-readable output")
        shown.set_defaults(func=cmd_show_network, kind=kind)

    keys = sub.add_parser("token-keys", help="manage the Fernet token keys")
    keys_sub = keys.add_subparsers(metavar="ACTION")
    rotate = keys_sub.add_parser("rotate", help="promote the staged key, stage a new one")
    rotate.set_defaults(func=cmd_rotate_keys)
    return parser


def _config(args: argparse.Namespace) -> Config:
    overrides = list(args.overrides)
    if getattr(args, "database", None):
        overrides.append(f"database.url={args.database}")
    if getattr(args, "host", None):
        overrides += [f"cloud.bind_host={args.host}", f"cloud.public_host={args.host}"]
    if getattr(args, "roles", None):
        overrides.append(f"roles={args.roles}")
    return load_config(args.state_dir, overrides=overrides)


def _user_clouds_yaml(args: argparse.Namespace) -> Path | None:
    if getattr(args, "no_user_clouds_yaml", False):
        return None
    return Path.home() / ".config" / "openstack" / "clouds.yaml"


def cmd_up(config: Config, args: argparse.Namespace) -> int:
    try:
        selection = select(config)
        check_process_can_run(config, selection)
    except ConfigError as exc:
        print(f"ownstack: configuration error: {exc}", file=sys.stderr)
        return 2
    first = statedir.prepare(config)
    if args.foreground:
        return _run_foreground(config)
    pid = statedir.read_pid(config)
    if pid is not None and statedir.read_startup(config) is not None:
        print(f"ownstack is already running (pid {pid}).")
        if selection.api:
            _print_usage(config, statedir.write_client_configs(
                config, user_clouds_yaml=_user_clouds_yaml(args)))
        return 0
    started = time.monotonic()
    log_path = statedir.log_file(config)
    command = [sys.executable, "-m", "ownstack", "--state-dir", str(config.state_dir)]
    for item in args.overrides:
        command += ["--set", item]
    if args.database:
        command += ["--set", f"database.url={args.database}"]
    if args.host:
        command += ["--set", f"cloud.bind_host={args.host}",
                    "--set", f"cloud.public_host={args.host}"]
    if args.roles:
        command += ["--set", f"roles={args.roles}"]
    command += ["up", "--foreground"]
    with open(log_path, "ab") as log_handle:
        log_start = log_handle.tell()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_handle,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    while (report := _started(config, process.pid)) is None:
        if process.poll() is not None:
            print(_start_failure(log_path, log_start, process.returncode), file=sys.stderr)
            return 1
        if time.monotonic() - started > HEALTH_TIMEOUT:
            print(f"ownstack did not start in {HEALTH_TIMEOUT:.0f}s; see {log_path}",
                  file=sys.stderr)
            return 1
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    what = "initialised and started" if first else "started"
    print(f"ownstack {what} in {elapsed:.1f}s (pid {process.pid}, log {log_path}).")
    print(f"  roles  {', '.join(report['roles'])}")
    print(f"  phases {_phases(report)}")
    if selection.api:
        _print_usage(config, statedir.write_client_configs(
            config, user_clouds_yaml=_user_clouds_yaml(args)))
    return 0


def _started(config: Config, pid: int) -> dict[str, Any] | None:
    """The start-up report of process ``pid`` once it runs every role, else ``None``."""
    report = statedir.read_startup(config)
    return report if report is not None and report.get("pid") == pid else None


def _phases(report: dict[str, Any]) -> str:
    """``imports 0.52s · migration check 0.10s · ...``, as the server timed them."""
    return " · ".join(f"{name} {seconds:.2f}s" for name, seconds in report.get("phases", []))


def _run_foreground(config: Config) -> int:
    from ownstack.common.phases import PhaseClock, process_started
    from ownstack.server import serve

    setup_logging(config.log.level)
    pid = statedir.read_pid(config)
    if pid is not None and pid != os.getpid():
        print(f"ownstack is already running for {config.state_dir} (pid {pid}).",
              file=sys.stderr)
        return 1
    statedir.pid_file(config).write_text(f"{os.getpid()}\n")
    try:
        _run_event_loop(serve(config, PhaseClock(started=process_started())))
    finally:
        if statedir.read_pid(config) == os.getpid():
            statedir.pid_file(config).unlink(missing_ok=True)
    return 0


def _run_event_loop(coro: object) -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        asyncio.run(coro)  # type: ignore[arg-type]
    else:
        uvloop.run(coro)  # type: ignore[arg-type]


def cmd_down(config: Config, args: argparse.Namespace) -> int:
    pid = statedir.read_pid(config)
    if pid is None:
        print("ownstack is not running.")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if statedir.read_pid(config) is None:
            print(f"ownstack stopped (pid {pid}); state kept in {config.state_dir}.")
            return 0
        time.sleep(0.05)
    print(f"ownstack (pid {pid}) did not stop in 30s; sending SIGKILL.", file=sys.stderr)
    os.kill(pid, signal.SIGKILL)
    statedir.pid_file(config).unlink(missing_ok=True)
    return 1


def _probe(config: Config) -> list[dict[str, object]]:
    results: list[dict[str, object]] = []
    with httpx.Client(timeout=2.0) as client:
        for spec in API_SERVICES:
            url = spec.local_url(config) + spec.health_path
            started = time.monotonic()
            try:
                healthy = client.get(url).status_code < 500
                error = ""
            except httpx.HTTPError as exc:
                healthy, error = False, type(exc).__name__
            results.append({"service": spec.type, "name": spec.name, "url": url,
                            "catalog_url": spec.catalog_entry(config).url,
                            "healthy": healthy, "error": error,
                            "ms": round((time.monotonic() - started) * 1000, 1)})
    return results


def cmd_status(config: Config, args: argparse.Namespace) -> int:
    """The process, its roles and how long it took to start; and each API service's
    health, when this process serves the APIs (or nothing runs, to show they are down)."""
    pid = statedir.read_pid(config)
    report = statedir.read_startup(config) if pid else None
    roles = list(report["roles"]) if report else []
    results = _probe(config) if not report or "api" in roles else []
    rss = _rss_mb(pid) if pid else None
    if args.json:
        print(json.dumps({"pid": pid, "rss_mb": rss, "state_dir": str(config.state_dir),
                          "roles": roles, "startup": report, "services": results},
                         indent=2))
    else:
        where = f"pid {pid}, {rss:.0f} MB RSS" if pid and rss else "not running"
        print(f"ownstack ({where}), state in {config.state_dir}")
        if report:
            print(f"  roles      {', '.join(roles)}")
            print(f"  started in {report['seconds']:.2f}s: {_phases(report)}")
        for r in results:
            health = "healthy" if r["healthy"] else f"DOWN {r['error']}".rstrip()
            print(f"  {r['service']:<10} {r['catalog_url']:<36} {health} ({r['ms']} ms)")
    running = pid is not None and (report is not None or bool(results))
    return 0 if running and all(r["healthy"] for r in results) else 1


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cmd_reset(config: Config, args: argparse.Namespace) -> int:
    if not args.yes:
        if not sys.stdin.isatty():
            print("ownstack reset wipes all state; pass --yes to confirm.", file=sys.stderr)
            return 2
        answer = input(f"Wipe all ownstack state in {config.state_dir}? Type 'yes': ")
        if answer.strip() != "yes":
            print("Nothing wiped.")
            return 1
    cmd_down(config, args)
    from ownstack.compute.drivers.qemu.driver import destroy_all_guests

    guests = asyncio.run(destroy_all_guests(config.state_dir))
    if guests:
        print(f"Destroyed {len(guests)} QEMU guest(s) of this cloud.")
    if config.network.driver == "linux":
        from ownstack.network.agent.runner import agent_host, driver_options
        from ownstack.network.drivers.linux.driver import tear_down_host

        removed = asyncio.run(tear_down_host(agent_host(config), config.state_dir,
                                             driver_options(config)))
        for line in removed:
            print(f"Removed {line}.")
    statedir.wipe(config)
    statedir.remove_from_user_clouds_yaml(Path.home() / ".config" / "openstack" / "clouds.yaml")
    print(f"Wiped {config.state_dir}.")
    return 0


def cmd_seed(config: Config, args: argparse.Namespace) -> int:
    from ownstack.admin import AdminError, seed

    if args.image is not None and not args.image.is_file():
        print(f"ownstack seed: no image file {args.image}", file=sys.stderr)
        return 2
    try:
        done = seed(config, args.image)
    except (AdminError, httpx.HTTPError, OSError) as exc:
        print(f"ownstack seed: {exc}", file=sys.stderr)
        return 1
    for line in done:
        print(f"registered {line}")
    return 0


def cmd_show_server(config: Config, args: argparse.Namespace) -> int:
    from ownstack.admin import AdminError, format_show, show_server

    try:
        document = show_server(config, args.server)
    except (AdminError, httpx.HTTPError, OSError) as exc:
        print(f"ownstack show server: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(document, indent=2) if args.json else format_show(document))
    return 0


def cmd_show_volume(config: Config, args: argparse.Namespace) -> int:
    from ownstack.admin import AdminError, format_volume_show, show_volume

    try:
        document = show_volume(config, args.volume)
    except (AdminError, httpx.HTTPError, OSError) as exc:
        print(f"ownstack show volume: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(document, indent=2) if args.json else format_volume_show(document))
    return 0


def cmd_show_network(config: Config, args: argparse.Namespace) -> int:
    from ownstack.admin import AdminError, format_network_show, show_network_resource

    try:
        document = show_network_resource(config, args.kind, args.name)
    except (AdminError, httpx.HTTPError, OSError) as exc:
        print(f"ownstack show {args.kind}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(document, indent=2) if args.json
          else format_network_show(args.kind, document))
    return 0


def cmd_rotate_keys(config: Config, args: argparse.Namespace) -> int:
    from ownstack.identity.tokens.keys import KeyRepository

    keys = KeyRepository(config.state_dir / "fernet-keys",
                         max_active_keys=config.identity.max_active_keys)
    keys.setup()
    primary = keys.rotate()
    print(f"Rotated Fernet keys in {keys.path}: key {primary} is now primary; "
          f"active keys {keys.key_indexes()}.")
    return 0


def _print_usage(config: Config, written: list[Path]) -> None:
    print()
    for spec in CATALOG_SERVICES:
        print(f"  {spec.type:<10} {spec.catalog_entry(config).url}")
    print()
    print("Wrote " + ", ".join(str(p) for p in written) + ".")
    print("Use it with the openstack CLI:")
    print(f"  export OS_CLOUD={statedir.CLOUD_NAME}")
    print("  openstack token issue")
    print(f"(or: source {config.state_dir / 'admin-openrc'})")


def _start_failure(log_path: Path, start: int, returncode: int) -> str:
    """Why the background server exited: the errors it logged in this start, each once, or
    the log's last lines when it logged none (a crash before logging was set up)."""
    try:
        with open(log_path, "rb") as handle:
            handle.seek(start)
            lines = handle.read().decode(errors="replace").splitlines()
    except OSError:
        lines = []
    # Keyed without the timestamp: every service's server logs the same startup error.
    errors = list({line.split(" ", 2)[-1]: line for line in lines
                   if " ERROR " in line or " CRITICAL " in line}.values())
    if errors:
        return (f"ownstack failed to start (exit {returncode}); the errors it logged "
                f"(all of it in {log_path}):\n" + "\n".join(errors[:20]))
    return (f"ownstack failed to start (exit {returncode}); last log lines of {log_path}:\n"
            + "\n".join(lines[-30:]))


if __name__ == "__main__":
    sys.exit(main())
