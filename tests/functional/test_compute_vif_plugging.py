"""A boot waits for its ports, as Nova waits for Neutron, through the real `openstack` CLI:
the guest stays paused (the server in BUILD) until the network agent reports its port
ACTIVE, and a port that never goes ACTIVE ends the boot in ERROR with a fault naming it.

A port that is administratively down is one the network agent never reports ACTIVE, so it
stands for a network agent that does not plug: the user's `port set --enable` is then the
moment the port is plugged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers.names import unique
from helpers.process import (
    Cloud,
    make_image,
    start_cloud,
    stop_cloud,
    wait_for_compute,
    wait_for_image_service,
    wait_until,
)

pytestmark = pytest.mark.functional

PLUG_TIMEOUT = 2


def _ready(cloud: Cloud) -> Cloud:
    wait_for_compute(cloud)
    wait_for_image_service(cloud)
    wait_until("a compute node", lambda: cloud.osc_json("hypervisor", "list"))
    return cloud


def _boot_on_a_port_that_is_down(cloud: Cloud, tmp_path: Path) -> tuple[Any, str, str]:
    """(sdk, server id, port id): a server booting on a port created administratively
    down. The set-up goes through openstacksdk, in process, to keep the test quick."""
    image = make_image(cloud, tmp_path)
    conn = cloud.sdk()
    flavor = conn.compute.create_flavor(name=unique("m1.nano"), vcpus=1, ram=128, disk=1)
    net = conn.network.create_network(name=unique("plug-net"))
    conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.9.0.0/24",
                               name=unique("plug-subnet"))
    port = conn.network.create_port(network_id=net.id, admin_state_up=False,
                                    name=unique("down"))
    server = conn.compute.create_server(
        name=unique("vm"), image_id=conn.image.find_image(image).id, flavor_id=flavor.id,
        networks=[{"port": port.id}])
    return conn, str(server.id), str(port.id)


def _events(cloud: Cloud, server_id: str) -> dict[str, dict[str, Any]]:
    """The events of the server's create action, by name."""
    (action,) = [a for a in cloud.osc_json("server", "event", "list", server_id)
                 if a["Action"] == "create"]
    shown = cloud.osc_json("server", "event", "show", server_id, action["Request ID"])
    return {e["event"]: e for e in shown["events"]}


def test_a_boot_goes_active_only_once_its_port_is_active(cloud: Cloud, tmp_path: Path
                                                          ) -> None:
    cloud = _ready(cloud)
    conn, server_id, port_id = _boot_on_a_port_that_is_down(cloud, tmp_path)
    wait_until("the guest paused for its port", lambda: (
        conn.compute.get_server(server_id).power_state == 3), timeout=30)
    paused = cloud.osc_json("server", "show", server_id)
    assert paused["status"] == "BUILD" and paused["OS-EXT-STS:task_state"] == "spawning"
    assert paused["OS-EXT-STS:power_state"] in ("Paused", 3)
    assert conn.network.get_port(port_id).status == "DOWN"

    cloud.osc("port", "set", "--enable", port_id)
    wait_until("the server ACTIVE", lambda: (
        conn.compute.get_server(server_id).status == "ACTIVE"), timeout=30)
    active = cloud.osc_json("server", "show", server_id)
    assert active["OS-EXT-STS:power_state"] in ("Running", 1)
    assert conn.network.get_port(port_id).status == "ACTIVE"
    events = _events(cloud, server_id)
    plug, plugged = events["compute_plug"], events["network-vif-plugged"]
    # The guest ran only once its port was plugged: the wait ended after the event came.
    assert plugged["start_time"] <= plug["finish_time"]
    assert plug["finish_time"] <= events["compute_build_and_run_instance"]["finish_time"]
    assert plug["result"] == "Success"
    # The server is fetched before its delete: a delete may finish before a fetch after it.
    server = conn.compute.get_server(server_id)
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=30)
    conn.network.delete_port(port_id)


@pytest.fixture(scope="module")
def impatient_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """A cloud whose boots wait only a moment for their ports."""
    tmp = tmp_path_factory.mktemp("impatient")
    cloud = start_cloud(tmp, "sqlite", None,
                        (f"compute.vif_plugging_timeout={PLUG_TIMEOUT}",))
    try:
        yield cloud
    finally:
        stop_cloud(cloud)
    assert "Traceback" not in cloud.log.read_text(), cloud.log.read_text()[-20000:]


def test_a_port_never_plugged_ends_the_boot_in_error_naming_it(impatient_cloud: Cloud,
                                                                tmp_path: Path) -> None:
    cloud = _ready(impatient_cloud)
    conn, server_id, port_id = _boot_on_a_port_that_is_down(cloud, tmp_path)
    wait_until("the server in ERROR", lambda: (
        conn.compute.get_server(server_id).status == "ERROR"), timeout=30)
    failed = cloud.osc_json("server", "show", server_id)
    message = failed["fault"]["message"]
    assert port_id in message and "not plugged" in message, message
    assert failed["OS-EXT-STS:task_state"] is None
    events = _events(cloud, server_id)
    assert events["compute_plug"]["result"] == "Error"
    assert events["compute_build_and_run_instance"]["result"] == "Error"
