"""Cold migration through the real `openstack` CLI on a cloud of two fake nodes (its own
process, on each database of ``OWNSTACK_TEST_DATABASES``): `server migrate --wait`,
`server migration confirm`, `server resize revert`, a 2.56 target host, the refusals,
Placement usages moving from node to node (osc-placement); and, on SQLite, a SIGKILL of
the whole process in the middle of a migration; and host aggregates with the zone they
make (`aggregate ...`, `server create --availability-zone`)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers.databases import backends, fresh_database, rabbitmq_bus
from helpers.names import unique
from helpers.process import (
    Cloud,
    make_image,
    member_cloud,
    start_cloud,
    stop_cloud,
    wait_for_compute,
    wait_for_image_service,
    wait_until,
)

pytestmark = pytest.mark.functional

NODES = ("test-node-1", "test-node-2")
EXTRA = ("compute.host=test-node", "compute.fake_nodes=2", "compute.report_interval=0.5",
         "compute.resync_interval=1")


def _allocations(cloud: Cloud, consumer: str) -> dict[str, dict[str, int]]:
    rows: list[dict[str, Any]] = cloud.osc_json("resource", "provider", "allocation",
                                                "show", consumer)
    return {row["resource_provider"]: row["resources"] for row in rows}


def _providers(cloud: Cloud) -> dict[str, str]:
    return {p["name"]: p["uuid"] for p in cloud.osc_json("resource", "provider", "list")}


def _host(cloud: Cloud, server: str) -> str:
    return str(cloud.osc_json("server", "show", server)["OS-EXT-SRV-ATTR:host"])


def _status(cloud: Cloud, server: str) -> str:
    return str(cloud.osc_json("server", "show", server)["status"])


@pytest.fixture(scope="module", params=backends())
def two_nodes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Cloud]:
    """A cloud of two fake nodes on each database (and bus) of ``OWNSTACK_TEST_DATABASES``."""
    backend, _, bus = str(request.param).partition("+")
    tmp = tmp_path_factory.mktemp(f"migrate-{backend}")
    extra = (*EXTRA, *(rabbitmq_bus("ownstack-migrate") if bus == "rabbitmq" else ()))
    with fresh_database(backend) as url:
        cloud = start_cloud(tmp, backend, url, extra)
        try:
            wait_for_compute(cloud)
            wait_for_image_service(cloud)
            wait_until("two compute nodes",
                       lambda: len(cloud.osc_json("hypervisor", "list")) == 2)
            yield cloud
        finally:
            stop_cloud(cloud)
    assert "Traceback" not in cloud.log.read_text()


def test_migrate_confirm_and_revert(two_nodes: Cloud, tmp_path: Path) -> None:
    cloud = two_nodes
    _, alice = member_cloud(cloud, "migrator")
    image = make_image(cloud, tmp_path)
    flavor = unique("m1.move")
    cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", flavor)
    vm = unique("vm")
    server_id = cloud.osc_json("server", "create", "--image", image, "--flavor", flavor,
                               "--nic", "none", "--wait", vm, cloud=alice)["id"]
    denied = cloud.osc("server", "migrate", vm, cloud=alice, expect_ok=False)
    assert denied.returncode != 0 and "os-migrate-server:migrate" in denied.stderr
    vm = server_id          # the admin finds another project's server by its id
    providers = _providers(cloud)
    source = _host(cloud, vm)
    dest = next(n for n in NODES if n != source)
    usage = {"VCPU": 1, "MEMORY_MB": 128, "DISK_GB": 1}
    assert _allocations(cloud, server_id) == {providers[source]: usage}

    # Refusals: a member may not (403, above), the server's own host, an unknown host.
    same = cloud.osc("--os-compute-api-version", "2.56", "server", "migrate", "--host",
                     source, vm, expect_ok=False)
    assert "Cannot migrate to the host where the server exists." in same.stderr
    unknown = cloud.osc("--os-compute-api-version", "2.56", "server", "migrate", "--host",
                        "nowhere", vm, expect_ok=False)
    assert "Compute host nowhere could not be found." in unknown.stderr

    # Migrate and confirm: the server on the other node, the usage with it.
    cloud.osc("server", "migrate", "--wait", vm)
    shown = cloud.osc_json("server", "show", vm)
    assert (shown["status"], shown["OS-EXT-SRV-ATTR:host"]) == ("VERIFY_RESIZE", dest)
    [migration] = cloud.osc_json("server", "migration", "list", "--server", server_id,
                                 "--os-compute-api-version", "2.80")
    assert (migration["Type"], migration["Status"]) == ("migration", "finished")
    assert (migration["Source Compute"], migration["Dest Compute"]) == (source, dest)
    assert _allocations(cloud, server_id) == {providers[dest]: usage}
    assert _allocations(cloud, migration["UUID"]) == {providers[source]: usage}
    cloud.osc("server", "migration", "confirm", vm)
    wait_until("ACTIVE after confirm", lambda: _status(cloud, vm) == "ACTIVE")
    assert _host(cloud, vm) == dest
    wait_until("the source's allocation freed",
               lambda: _allocations(cloud, migration["UUID"]) == {})
    assert _allocations(cloud, server_id) == {providers[dest]: usage}

    # Back to the first node by name (2.56), then revert: the server stays where it was.
    cloud.osc("--os-compute-api-version", "2.56", "server", "migrate", "--host", source,
              "--wait", vm)
    assert _host(cloud, vm) == source and _status(cloud, vm) == "VERIFY_RESIZE"
    cloud.osc("server", "resize", "revert", vm)
    wait_until("ACTIVE after revert", lambda: _status(cloud, vm) == "ACTIVE")
    assert _host(cloud, vm) == dest
    wait_until("usage back on the node it returned to",
               lambda: _allocations(cloud, server_id) == {providers[dest]: usage})
    statuses = sorted(m["Status"] for m in cloud.osc_json(
        "server", "migration", "list", "--server", server_id,
        "--os-compute-api-version", "2.80"))
    assert statuses == ["confirmed", "reverted"]
    events = [e["Action"] for e in cloud.osc_json("server", "event", "list", vm)]
    assert events.count("migrate") == 2, events
    cloud.osc("server", "delete", "--wait", vm)
    assert _allocations(cloud, server_id) == {}


def test_sigkill_mid_migration_converges(tmp_path: Path) -> None:
    """The whole process killed while the destination spawns the guest (a crash of every
    fake node: their guests are gone): started again, the migration finishes on the
    destination and can be confirmed."""
    extra = (*EXTRA, "compute.fake_spawn_delay=3")
    cloud = start_cloud(tmp_path, "sqlite", None, extra)
    try:
        wait_for_compute(cloud)
        wait_until("two compute nodes",
                   lambda: len(cloud.osc_json("hypervisor", "list")) == 2)
        image = make_image(cloud, tmp_path)
        flavor = unique("m1.kill")
        cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", flavor)
        vm = unique("vm")
        server_id = cloud.osc_json("server", "create", "--image", image, "--flavor", flavor,
                                   "--nic", "none", "--wait", vm)["id"]
        source = _host(cloud, vm)
        cloud.osc("server", "migrate", vm)
        wait_until("the destination finishing", lambda: cloud.osc_json(
            "server", "show", vm)["OS-EXT-STS:task_state"] == "resize_finish", timeout=30)
    except BaseException:
        stop_cloud(cloud)
        raise
    cloud.process.send_signal(signal.SIGKILL)
    cloud.process.wait(timeout=30)

    cloud = start_cloud(tmp_path, "sqlite", None, extra)
    try:
        wait_for_compute(cloud)
        wait_until("VERIFY_RESIZE after the restart",
                   lambda: _status(cloud, vm) == "VERIFY_RESIZE", timeout=60)
        dest = _host(cloud, vm)
        assert dest != source
        cloud.osc("server", "resize", "confirm", vm)
        wait_until("ACTIVE after confirm", lambda: _status(cloud, vm) == "ACTIVE")
        providers = _providers(cloud)
        wait_until("one allocation, on the destination", lambda: _allocations(
            cloud, server_id) == {providers[dest]: {"VCPU": 1, "MEMORY_MB": 128,
                                                    "DISK_GB": 1}})
        cloud.osc("server", "delete", "--wait", vm)
        assert _allocations(cloud, server_id) == {}
    finally:
        stop_cloud(cloud)
    assert "Traceback" not in cloud.log.read_text()


def test_aggregate_zone_commands(two_nodes: Cloud, tmp_path: Path) -> None:
    """Host aggregates and the zone they make, through the CLI: a server asking for the
    zone lands on its one host; the host stays while it runs servers there."""
    cloud = two_nodes
    image = make_image(cloud, tmp_path)
    flavor = unique("m1.zone")
    cloud.osc("flavor", "create", "--vcpus", "1", "--ram", "128", "--disk", "1", flavor)
    name, zone = unique("agg"), unique("az")
    created = cloud.osc_json("aggregate", "create", "--zone", zone, name)
    assert (created["name"], created["availability_zone"]) == (name, zone)
    cloud.osc("aggregate", "add", "host", name, NODES[1])
    cloud.osc("aggregate", "set", "--property", "ssd=true", name)
    shown = cloud.osc_json("aggregate", "show", name)
    assert (shown["hosts"], shown["properties"]) == ([NODES[1]], {"ssd": "true"})
    assert name in [a["Name"] for a in cloud.osc_json("aggregate", "list")]
    zones = {z["Zone Name"] for z in cloud.osc_json("availability", "zone", "list")}
    assert {zone, "nova"} <= zones
    server = cloud.osc_json("server", "create", "--image", image, "--flavor", flavor,
                            "--nic", "none", "--availability-zone", zone, "--wait",
                            unique("vm"))
    try:
        assert _host(cloud, server["id"]) == NODES[1]
        assert cloud.osc_json("server", "show", server["id"])[
            "OS-EXT-AZ:availability_zone"] == zone
        kept = cloud.osc("aggregate", "remove", "host", name, NODES[1], expect_ok=False)
        assert kept.returncode != 0 and "would change" in kept.stderr, kept.stderr
        busy = cloud.osc("aggregate", "delete", name, expect_ok=False)
        assert busy.returncode != 0 and "Host aggregate is not empty" in busy.stderr
    finally:
        cloud.osc("server", "delete", "--wait", server["id"])
    cloud.osc("aggregate", "remove", "host", name, NODES[1])
    cloud.osc("aggregate", "delete", name)
    assert name not in [a["Name"] for a in cloud.osc_json("aggregate", "list")]
