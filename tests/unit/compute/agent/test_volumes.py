"""The agent's view of a server's volumes: which mappings are in the guest's recipe, the
driver's VolumeSpec made from the volume service's connection_info, and when the plan
syncs the guest's volumes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from helpers.agent import make_spec
from ownstack.compute import rpc, states
from ownstack.compute.agent.guest_specs import guest_spec
from ownstack.compute.agent.reconcile import Step, plan
from ownstack.compute.agent.volumes import volume_spec, wanted_volumes
from ownstack.compute.drivers.base import GuestInfo, ImageRef, PowerState

VOLUME_ID = "0b7e5a0c-59a6-4bd4-a6c3-6e3a1b1a2f55"


def entry(state: str, *, connected: bool = True, **overrides: Any) -> dict[str, Any]:
    info = {"driver_volume_type": "file",
            "data": {"path": f"/v/volume-{VOLUME_ID}.qcow2", "format": "qcow2",
                     "host": "h1", "access_mode": "rw", "volume_id": VOLUME_ID}}
    return {"bdm_uuid": "b1", "volume_id": VOLUME_ID, "attachment_id": "a1",
            "attach_state": state, "connection_info": info if connected else None,
            "device_name": "/dev/vdb", "boot_index": None, **overrides}


def test_a_volume_spec_is_the_connection_infos_file_format_and_access_mode() -> None:
    spec = volume_spec(entry(rpc.VOLUME_ATTACHED))
    assert (spec.volume_id, spec.path, spec.format, spec.read_only) == (
        VOLUME_ID, Path(f"/v/volume-{VOLUME_ID}.qcow2"), "qcow2", False)
    assert spec.serial == VOLUME_ID[:20] and not spec.is_root
    ro = entry(rpc.VOLUME_ATTACHED, boot_index=0)
    ro["connection_info"]["data"]["access_mode"] = "ro"
    assert volume_spec(ro).read_only and volume_spec(ro).is_root


def test_only_attached_and_connected_volumes_are_in_the_recipe() -> None:
    volumes = [entry(rpc.VOLUME_ATTACHING), entry(rpc.VOLUME_ATTACHED, volume_id="v2"),
               entry(rpc.VOLUME_ATTACHED, volume_id="v3", connected=False),
               entry(rpc.VOLUME_DETACHING, volume_id="v4")]
    spec = cast(rpc.InstanceSpec, make_spec("h1", volumes=volumes))
    assert [e["volume_id"] for e in wanted_volumes(spec)] == ["v2"]
    guest = guest_spec(spec, ImageRef("img-1", Path("/base"), "qcow2"))
    assert [v.volume_id for v in guest.volumes] == ["v2"]
    assert guest_spec(cast(rpc.InstanceSpec, make_spec("h1")),
                      ImageRef("img-1", Path("/base"), "qcow2")).volumes == ()


# --- plan: the sync_volumes step, pure --------------------------------------------------

def steady(*entries: dict[str, Any]) -> rpc.InstanceSpec:
    return cast(rpc.InstanceSpec, make_spec("h1", vm_state=states.ACTIVE, task_state=None,
                                            power_state=1, volumes=list(entries)))


def running(volumes: tuple[str, ...] | None) -> GuestInfo:
    return GuestInfo("x", PowerState.RUNNING, volumes=volumes)


@pytest.mark.parametrize("state", [rpc.VOLUME_ATTACHING, rpc.VOLUME_DETACHING])
def test_a_volume_in_flight_is_synced(state: str) -> None:
    assert plan(steady(entry(state)), running(()), "h1") == Step.SYNC_VOLUMES
    # even by a driver that does not report volumes: the attach then fails, cleanly
    assert plan(steady(entry(state)), running(None), "h1") == Step.SYNC_VOLUMES


def test_the_guests_volumes_follow_the_attached_mappings() -> None:
    attached = steady(entry(rpc.VOLUME_ATTACHED))
    assert plan(attached, running((VOLUME_ID,)), "h1") == Step.NOTHING
    assert plan(attached, running(()), "h1") == Step.SYNC_VOLUMES          # lost: replug
    assert plan(steady(), running((VOLUME_ID,)), "h1") == Step.SYNC_VOLUMES  # leaked
    assert plan(steady(), running(None), "h1") == Step.NOTHING     # a driver without them


def test_a_task_or_a_power_change_comes_before_the_volumes() -> None:
    spec = steady(entry(rpc.VOLUME_ATTACHING))
    assert plan(spec, GuestInfo("x", PowerState.SHUTDOWN, volumes=()), "h1") == \
        Step.MARK_STOPPED
    busy = cast(rpc.InstanceSpec, {**spec, "task_state": states.REBOOTING})
    assert plan(busy, running(()), "h1") == Step.REBOOT


def test_a_volume_in_flight_on_a_server_with_no_guest_is_still_settled() -> None:
    stopped = cast(rpc.InstanceSpec, {**steady(entry(rpc.VOLUME_ATTACHING)),
                                      "vm_state": states.STOPPED, "power_state": 0})
    assert plan(stopped, None, "h1") == Step.SYNC_VOLUMES
