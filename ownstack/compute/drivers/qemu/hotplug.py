"""Plugging and unplugging devices of a QEMU guest: the work behind
:meth:`QemuDriver.plug_nics` and ``plug_volumes``.

The recipe is changed one device at a time and saved after each, so a later start (or an
adopting agent) has what the guest has. A running or paused guest gets the change at once
over QMP (``monitor`` given); a stopped one (``monitor`` ``None``) at its next start.
Unplugging is ``device_del``, done once the guest let the device go (QEMU's
``DEVICE_DELETED``, as Nova's detach waits for libvirt's), and then its backend
(``netdev_del``, ``blockdev-del``). What a running guest has of its volumes is read from
QEMU itself (:func:`.volumes.present`), so a volume half plugged or half unplugged by a
killed agent is finished, never added twice nor left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence

from ownstack.compute.drivers.base import DetachTimeout, DriverError, VolumeSpec
from ownstack.compute.drivers.qemu import nics as qemu_nics
from ownstack.compute.drivers.qemu import volumes as qemu_volumes
from ownstack.compute.drivers.qemu.monitor import Monitor
from ownstack.compute.drivers.qemu.process import GuestFiles, Recipe

DEVICE_DEL_TIMEOUT = 20.0        # seconds a guest has to answer an unplug request (a NIC)
DEVICE_DEL_ATTEMPTS = 8          # requests before giving up (Nova's device_detach_attempts)


async def plug_nics(monitor: Monitor | None, files: GuestFiles, recipe: Recipe,
                    changes: qemu_nics.Changes) -> None:
    """Gone NICs unplugged first (``netdev_del`` once the guest let the device go), new
    ones plugged after (``netdev_add`` on the port's tap, ``device_add``)."""
    for port_id in changes.gone:
        device = qemu_nics.device_id(port_id)
        netdev = qemu_nics.netdev_of(recipe, device)
        if monitor is not None:
            await unplug_device(monitor, device)
            if netdev is not None:
                with contextlib.suppress(DriverError):    # gone with its device
                    await monitor.execute("netdev_del", {"id": netdev})
        recipe.devices = [(cmd, args) for cmd, args in recipe.devices
                          if args.get("id") not in (device, netdev)]
        await asyncio.to_thread(recipe.save, files.recipe)
    for nic in changes.new:
        added = qemu_nics.commands(nic, f"net-{nic.port_id}")
        if monitor is not None:
            for command, arguments in added:
                await monitor.add_device(command, arguments)
        recipe.devices += added
        await asyncio.to_thread(recipe.save, files.recipe)
    recipe.taps = [changes.wanted[port_id].tap_name for port_id in qemu_nics.in_recipe(recipe)]
    await asyncio.to_thread(recipe.save, files.recipe)


async def plug_volumes(monitor: Monitor | None, files: GuestFiles, recipe: Recipe,
                       volumes: Sequence[VolumeSpec], timeout: float
                       ) -> tuple[bool, DetachTimeout | None]:
    """Make the recipe's (and the guest's) volumes ``volumes``. Returns whether anything
    changed, and the first volume the guest did not let go within ``timeout`` seconds
    (its device and its place in the recipe stay; the rest is done all the same)."""
    wanted = {volume.volume_id: volume for volume in volumes}
    present = await qemu_volumes.present(monitor.execute) if monitor else None
    have = qemu_volumes.in_recipe(recipe.devices)
    gone = [v for v in dict.fromkeys([*have, *(present.volume_ids if present else ())])
            if v not in wanted]
    stuck: DetachTimeout | None = None
    for volume_id in gone:
        if monitor is not None and present is not None:
            device, node = qemu_volumes.device_id(volume_id), present.node_of(volume_id)
            if device in present.devices and not await release(monitor, device, timeout):
                stuck = stuck or DetachTimeout(files.uuid, volume_id, timeout)
                continue
            if node is not None:
                await monitor.execute("blockdev-del", {"node-name": node})
        recipe.devices = qemu_volumes.without(recipe.devices, volume_id)
        await asyncio.to_thread(recipe.save, files.recipe)
    if monitor is not None and present is not None:
        await _drop_stray_nodes(monitor, present, wanted, stuck)
    for volume in volumes:
        added = qemu_volumes.commands(volume)
        if monitor is not None and present is not None:
            for command, arguments in added:
                if not present.has(command, arguments):
                    await monitor.execute(command, arguments)
        if volume.volume_id not in have:
            recipe.devices += added
            await asyncio.to_thread(recipe.save, files.recipe)
    return bool(gone) or any(v not in have for v in wanted), stuck


async def _drop_stray_nodes(monitor: Monitor, present: qemu_volumes.Present,
                            wanted: Mapping[str, VolumeSpec],
                            stuck: DetachTimeout | None) -> None:
    """Volume nodes with no device that no volume wants: an agent killed between
    ``blockdev-add`` and ``device_add`` of an attach that then failed."""
    keep = {qemu_volumes.node_name(v) for v in wanted}
    keep |= {qemu_volumes.node_name(v) for v in present.volume_ids}
    if stuck is not None:
        keep.add(qemu_volumes.node_name(stuck.volume_id))
    for node in sorted(present.nodes - keep):
        with contextlib.suppress(DriverError):
            await monitor.execute("blockdev-del", {"node-name": node})


async def unplug_device(monitor: Monitor, device: str) -> None:
    """``device_del``, and wait for the guest to let the device go, asking again while it
    does not (a guest still booting misses a request sent before its hotplug driver is
    up), as Nova's libvirt driver retries a detach."""
    for _ in range(DEVICE_DEL_ATTEMPTS):
        if await release(monitor, device, DEVICE_DEL_TIMEOUT):
            return
    raise DriverError(f"guest {monitor.uuid} did not release {device} within "
                      f"{DEVICE_DEL_TIMEOUT * DEVICE_DEL_ATTEMPTS:g} s")


async def release(monitor: Monitor, device: str, timeout: float) -> bool:
    """``device_del``, and wait up to ``timeout`` seconds for the guest to let the
    device go (QEMU's ``DEVICE_DELETED``); whether it did (or it was gone already)."""
    gone = monitor.deleted.setdefault(device, asyncio.Event())
    try:
        try:
            await monitor.execute("device_del", {"id": device})
        except DriverError as exc:
            if "not found" in str(exc).lower():
                return True                          # already gone
            raise
        try:
            await asyncio.wait_for(gone.wait(), timeout)
        except TimeoutError:
            return False
        return True
    finally:
        monitor.deleted.pop(device, None)
