"""Real guests, end to end: the all-in-one cloud with the QEMU driver under TCG, driven
through the `openstack` CLI as a user drives it, booting the ``ownstack-tiny`` test image.

Every check looks at the real objects too: QEMU processes in /proc, files under the state
directory, QMP sockets, Placement allocations. TCG always: /dev/kvm on the CI machines
exists but hangs (the KVM probe has its own tests).

One cloud for the module (SQLite, in-process bus); the kill tests start it again on the
same state directory, as an operator would after a crash.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from helpers.browser import novnc_screen
from helpers.names import unique
from helpers.process import SERVICE_PORT_OPTIONS
from helpers.qemu import tiny_image
from helpers.qemu_cloud import QemuCloud, qemu_pids, stop_and_reap, wait_until

pytestmark = pytest.mark.functional

def assert_no_leftovers(env: QemuCloud, server_id: str) -> None:
    assert qemu_pids(server_id) == []
    assert not (env.instances / server_id).exists()
    assert not list(Path("/run/ownstack").glob(f"*/{server_id}.*"))
    assert env.allocations(server_id) == {}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QemuCloud]:
    image = tiny_image()
    env = QemuCloud(tmp_path_factory.mktemp("qemu-cloud"))
    try:
        seeded = env.ownstack("seed", "--image", str(image))
        assert "ownstack-tiny" in seeded.stdout and "m1.nano" in seeded.stdout
        assert "network public: 172.24.4.0/24" in seeded.stdout, seeded.stdout
        assert "security group default: tcp 22 in" in seeded.stdout, seeded.stdout
        again = env.ownstack("seed")                 # idempotent: nothing twice
        assert "network public" not in again.stdout and "security group" not in again.stdout
        public = env.cloud.osc_json("network", "show", "public")
        assert public["router:external"] is True
        assert public["provider:network_type"] == "flat"
        key = env.tmp / "id.pub"
        key.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq6yVQ1qDS6WmrNHbO0gN8NvMGQl"
                       "UqOhzgC6gyqzLbL e2e@ownstack\n")
        env.cloud.osc("keypair", "create", "--public-key", str(key), "mykey")
        yield env
    finally:
        servers = env.cloud.osc_json("server", "list", "--all-projects")
        for server in servers:
            env.cloud.osc("server", "delete", "--wait", server["ID"], expect_ok=False)
        stop_and_reap(env.cloud)
    leaked = [p.name for p in env.instances.iterdir()] if env.instances.exists() else []
    assert leaked == [], f"guest directories left behind: {leaked}"


def boot(env: QemuCloud, name: str, *args: str, image: str = "ownstack-tiny") -> dict[str, Any]:
    server: dict[str, Any] = env.cloud.osc_json(
        "server", "create", "--image", image, "--flavor", "m1.nano", "--key-name", "mykey",
        "--nic", "none", "--wait", *args, name)
    assert server["status"] == "ACTIVE", server
    return server


def test_boot_with_config_drive_then_stop_start_and_reboots(env: QemuCloud) -> None:
    vm = unique("vm")
    server = boot(env, vm, "--config-drive", "true")
    out = env.wait_console(vm, f"ownstack: login ready on {vm}")
    assert f"ownstack: instance {server['id']}" in out
    assert "ownstack: config drive found (config-2)" in out
    assert "ownstack: ssh key mykey installed for root" in out
    assert f"ownstack: hostname {vm}" in out
    assert len(qemu_pids(server["id"])) == 1

    env.cloud.osc("server", "stop", vm)
    wait_until("SHUTOFF", lambda: env.status(vm) == "SHUTOFF")
    assert qemu_pids(server["id"]) == []
    shown = env.cloud.osc_json("server", "show", vm)
    assert shown["OS-EXT-STS:power_state"] in ("Shutdown", 4)
    assert "reboot: Power down" in env.console(vm)      # the guest obeyed ACPI
    stopped = env.cloud.osc("console", "url", "show", "--novnc", vm, expect_ok=False)
    assert f"Cannot 'get_vnc_console' instance {server['id']} while it is in vm_state " \
        "stopped" in stopped.stderr, stopped.stderr

    env.cloud.osc("server", "start", vm)
    wait_until("ACTIVE", lambda: env.status(vm) == "ACTIVE")
    env.wait_console(vm, f"ownstack: login ready on {vm}", count=2)

    env.cloud.osc("server", "reboot", "--wait", vm)
    env.wait_console(vm, f"ownstack: login ready on {vm}", count=3)
    env.cloud.osc("server", "reboot", "--hard", "--wait", vm)
    env.wait_console(vm, f"ownstack: login ready on {vm}", count=4)
    assert env.status(vm) == "ACTIVE" and len(qemu_pids(server["id"])) == 1

    shown_host = env.ownstack("show", "server", vm, "--json")
    document = json.loads(shown_host.stdout)
    objects = document["host_objects"]
    assert objects["pid"] == qemu_pids(server["id"])[0]
    assert "-S" in objects["command_line"] and server["id"] in objects["command_line"]
    assert Path(objects["qmp_socket"]).is_socket()
    assert Path(objects["disk"]).is_file() and Path(objects["config_drive"]).is_file()
    assert [d["execute"] for d in objects["qmp_devices"]][:2] == ["blockdev-add", "device_add"]
    check_browser_consoles(env, vm, objects)
    phases = [p["event"] for p in document["boot_phases"]]
    for phase in ("compute_image_fetch", "compute_disks", "compute_config_drive",
                  "compute_start", "compute_build_and_run_instance"):
        assert phase in phases, phases
    env.cloud.osc("server", "delete", "--wait", vm)
    assert_no_leftovers(env, server["id"])


def check_browser_consoles(env: QemuCloud, vm: str, objects: dict[str, Any]) -> None:
    """The consoles of a running guest, as a user opens them: the noVNC URL shows the
    guest's screen in headless Chromium, its login prompt on it (read back from the
    canvas's VGA text cells), and a serial URL's websocket, opened by that page
    as a browser terminal would (and by a plain client), gets the guest's login prompt for
    a newline; each URL works once. Both consoles are Unix sockets (no TCP port), and the
    console log keeps everything the serial port says."""
    assert Path(objects["vnc_socket"]).is_socket()
    assert Path(objects["serial_socket"]).is_socket()
    assert "-vnc" in objects["command_line"] and "tcp" not in objects["command_line"]
    prompt = f"{vm} login:"
    prompts = env.console(vm).count(prompt)
    novnc_port, serial_port = (env.cloud.port + SERVICE_PORT_OPTIONS.index(option) for option
                               in ("console.novncproxy_port", "console.serialproxy_port"))

    novnc = env.cloud.osc_json("console", "url", "show", "--novnc", vm)
    assert novnc["type"] == "novnc"
    prefix = f"http://127.0.0.1:{novnc_port}/vnc_lite.html?path=%3Ftoken%3D"
    assert novnc["url"].startswith(prefix), novnc
    serial = env.cloud.osc_json("console", "url", "show", "--serial", vm)
    assert serial["type"] == "serial"
    assert serial["url"].startswith(f"ws://127.0.0.1:{serial_port}/?token="), serial
    screen = novnc_screen(novnc["url"], serial_url=serial["url"], expect=prompt,
                          expect_on_screen=prompt)
    (env.tmp / "novnc-screen.png").write_bytes(screen.png)
    assert screen.status.startswith("Connected to QEMU"), screen.status
    assert (screen.width, screen.height) >= (640, 400), screen
    assert screen.differing > 1000 and screen.colours >= 2, screen   # not a blank screen
    assert prompt in screen.text, screen.text   # the screen's own getty (tty1)
    assert prompt in screen.serial, screen.serial
    for used in (f"ws://127.0.0.1:{novnc_port}/?token={novnc['url'].removeprefix(prefix)}",
                 serial["url"]):
        with pytest.raises(InvalidStatus) as refused:
            connect(used, open_timeout=10)
        assert refused.value.response.status_code == 403

    # A client that is not a browser (no Origin), on a new URL.
    url = env.cloud.osc_json("console", "url", "show", "--serial", vm)["url"]
    with connect(url, open_timeout=10) as ws:
        seen = b""
        deadline = time.monotonic() + 30
        while prompt.encode() not in seen and time.monotonic() < deadline:
            ws.send(b"\r")
            with contextlib.suppress(TimeoutError):
                while prompt.encode() not in seen:
                    seen += bytes(ws.recv(timeout=2))
        assert prompt.encode() in seen, seen
    env.wait_console(vm, prompt, count=prompts + 2)      # the console log kept both


def test_snapshot_boots_again(env: QemuCloud) -> None:
    vm, snap = unique("vm"), unique("snap")
    server = boot(env, vm)
    env.wait_console(vm, "login ready on")
    env.cloud.osc("server", "image", "create", "--name", snap, "--wait", vm)
    image = env.cloud.osc_json("image", "show", snap)
    assert image["status"] == "active" and image["disk_format"] == "qcow2"
    assert env.status(vm) == "ACTIVE"
    again = unique("vm")
    second = boot(env, again, "--config-drive", "true", image=snap)
    env.wait_console(again, f"ownstack: login ready on {again}")
    # Rebuild: the same server, a new disk from the snapshot, booted again.
    env.cloud.osc("server", "rebuild", "--image", snap, "--wait", vm)
    assert env.status(vm) == "ACTIVE" and len(qemu_pids(server["id"])) == 1
    env.wait_console(vm, "login ready on")
    for name, uuid in ((vm, server["id"]), (again, second["id"])):
        env.cloud.osc("server", "delete", "--wait", name)
        assert_no_leftovers(env, uuid)
    env.cloud.osc("image", "delete", snap)


def test_qemu_killed_behind_the_agents_back_makes_the_server_shutoff(env: QemuCloud) -> None:
    vm = unique("vm")
    server = boot(env, vm)
    [pid] = qemu_pids(server["id"])
    os.kill(pid, signal.SIGKILL)
    wait_until("SHUTOFF", lambda: env.status(vm) == "SHUTOFF", timeout=30)
    env.cloud.osc("server", "start", vm)
    wait_until("ACTIVE again", lambda: env.status(vm) == "ACTIVE")
    env.wait_console(vm, "login ready on")
    env.cloud.osc("server", "delete", "--wait", vm)
    assert_no_leftovers(env, server["id"])


def test_unbootable_image_is_an_error_with_a_fault_and_leaks_nothing(
        env: QemuCloud) -> None:
    junk = env.tmp / "junk.raw"
    junk.write_bytes(b"this is not a disk" * 100000)
    image = unique("junk")
    env.cloud.osc("image", "create", "--disk-format", "raw", "--container-format", "bare",
                  "--file", str(junk), image)
    vm = unique("vm")
    server = env.cloud.osc_json("server", "create", "--image", image, "--flavor", "m1.nano",
                                "--nic", "none", vm)
    wait_until("ERROR", lambda: env.status(vm) == "ERROR", timeout=60)
    fault = env.cloud.osc_json("server", "show", vm)["fault"]
    assert "not a bootable disk" in json.dumps(fault), fault
    assert qemu_pids(server["id"]) == [] and not (env.instances / server["id"]).exists()
    env.cloud.osc("server", "delete", "--wait", vm)
    assert env.allocations(server["id"]) == {}


def test_flavor_disk_smaller_than_the_image_is_a_400(env: QemuCloud) -> None:
    big = env.tmp / "big.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(big), "2G"], check=True)
    image = unique("big")
    env.cloud.osc("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
                  "--file", str(big), image)
    result = env.cloud.osc("server", "create", "--image", image, "--flavor", "m1.nano",
                           "--nic", "none", unique("vm"), expect_ok=False)
    assert result.returncode != 0
    assert "400" in result.stderr and "disk is too small" in result.stderr, result.stderr


def test_sigkill_mid_boot_and_mid_delete_converge_without_leaks(env: QemuCloud) -> None:
    vm = unique("vm")
    server_id = env.cloud.osc_json("server", "create", "--image", "ownstack-tiny",
                                   "--flavor", "m1.nano", "--nic", "none", vm)["id"]
    # The spawn on the host takes well under a second: watch for its directory, then kill.
    deadline = time.monotonic() + 60
    while not (env.instances / server_id).exists():
        assert time.monotonic() < deadline, "the spawn never started"
        time.sleep(0.005)
    env.kill_and_restart()
    wait_until("ACTIVE after the restart", lambda: env.status(vm) == "ACTIVE")
    assert len(qemu_pids(server_id)) == 1              # adopted or rebuilt, never two
    assert len(env.allocations(server_id)) == 1
    env.wait_console(vm, "login ready on")

    env.cloud.osc("server", "delete", vm)
    env.kill_and_restart()
    wait_until("the server gone", lambda: vm not in {
        s["Name"] for s in env.cloud.osc_json("server", "list")}, timeout=90)
    wait_until("no leftovers", lambda: not qemu_pids(server_id)
               and not (env.instances / server_id).exists(), timeout=60)
    assert_no_leftovers(env, server_id)
