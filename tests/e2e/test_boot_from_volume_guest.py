"""Boot from volume with a real guest: the all-in-one cloud with the QEMU driver under TCG
and the ``file`` volume driver, driven through the `openstack` CLI.

ONE guest for the module: ``--image ownstack-tiny --boot-from-volume 1``, the cloud
SIGKILLed while the volume agent copies the image into the new volume and started again;
the build carries on (nothing stays ``creating`` or ``attaching``), the guest boots from
the volume (no image fetched, no overlay made: its root disk is the volume's file, a
virtio disk with boot index 0) and reaches its login marker, is stopped and started and
boots from the same volume again, and its delete deletes the volume
(``--delete-on-termination``) and its file, with nothing of the guest behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers.names import unique
from helpers.qemu import tiny_image
from helpers.qemu_cloud import QemuCloud, qemu_pids, stop_and_reap, wait_until

pytestmark = pytest.mark.functional


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QemuCloud]:
    image = tiny_image()
    env = QemuCloud(tmp_path_factory.mktemp("bfv-cloud"))
    try:
        env.ownstack("seed", "--image", str(image))
        yield env
    finally:
        for server in env.cloud.osc_json("server", "list", "--all-projects"):
            env.cloud.osc("server", "delete", "--wait", server["ID"], expect_ok=False)
        stop_and_reap(env.cloud)


def volume(env: QemuCloud, name: str) -> dict[str, Any]:
    return dict(env.cloud.osc_json("volume", "show", name))


def volumes_in(env: QemuCloud, *statuses: str) -> list[str]:
    return [v["ID"] for v in env.cloud.osc_json("volume", "list", "--all-projects")
            if v["Status"] in statuses]


def test_a_guest_boots_from_a_volume_made_from_the_tiny_image(env: QemuCloud) -> None:
    vm = unique("vm")
    # SIGKILL while the volume is being made from the image (the create has just been
    # accepted): after the restart the build carries on, nothing stays creating or
    # attaching, and the volume is the guest's root.
    server = env.cloud.osc_json("server", "create", "--image", "ownstack-tiny",
                                "--boot-from-volume", "1", "--delete-on-termination",
                                "--flavor", "m1.nano", "--nic", "none",
                                "--config-drive", "true", vm)
    env.kill_and_restart()
    wait_until("ACTIVE after the restart", lambda: env.status(vm) == "ACTIVE")
    env.wait_console(vm, f"ownstack: login ready on {vm}")
    assert volumes_in(env, "creating", "attaching", "reserved", "error") == []
    (attached,) = env.cloud.osc_json("server", "volume", "list", vm)
    shown = volume(env, attached["Volume ID"])
    assert shown["status"] == "in-use" and shown["bootable"] in (True, "true")
    assert [a["server_id"] for a in shown["attachments"]] == [server["id"]]

    assert "ownstack: config drive found (config-2)" in env.console(vm)
    # The guest's root disk is the volume's file: no overlay, no image in its recipe.
    document = json.loads(env.ownstack("show", "server", vm, "--json").stdout)
    objects = document["host_objects"]
    assert not (env.instances / server["id"] / "disk").exists()
    devices = [d for d in objects["qmp_devices"] if d["execute"] == "device_add"]
    (root_device,) = [d["arguments"] for d in devices
                      if d["arguments"].get("bootindex") == 0]
    assert root_device["id"] == f"vol-{shown['id']}"
    nodes = [d["arguments"] for d in objects["qmp_devices"] if d["execute"] == "blockdev-add"]
    (node,) = [n for n in nodes if n["node-name"] == root_device["drive"]]
    path = node["file"]["filename"]
    assert path.endswith(f"volume-{shown['id']}.qcow2")
    assert node["driver"] == "qcow2" and node["backing"] is None
    phases = [p["event"] for p in document["boot_phases"]]
    assert "compute_image_fetch" not in phases and "compute_start" in phases

    # Stopped and started, it boots from the same volume.
    env.cloud.osc("server", "stop", vm)
    wait_until("SHUTOFF", lambda: env.status(vm) == "SHUTOFF")
    assert qemu_pids(server["id"]) == []
    env.cloud.osc("server", "start", vm)
    wait_until("ACTIVE", lambda: env.status(vm) == "ACTIVE")
    env.wait_console(vm, f"ownstack: login ready on {vm}", count=2)
    assert len(qemu_pids(server["id"])) == 1

    # Deleted with the server (delete_on_termination), its file too; nothing leaks.
    env.cloud.osc("server", "delete", "--wait", vm)
    wait_until("the volume deleted", lambda: shown["id"] not in [
        v["ID"] for v in env.cloud.osc_json("volume", "list", "--all-projects")], 60)
    wait_until("its file removed", lambda: not Path(path).exists(), 60)
    assert qemu_pids(server["id"]) == []
    assert not (env.instances / server["id"]).exists()
