"""The conductor's side of a server's ports: made once a host is claimed, released after
delete. The network calls are :mod:`ownstack.compute.ports`; this module keeps the
instance row in step, so a conductor killed at any point leaves nothing the sweep cannot
repair:

1. ``network_status`` goes to ``allocating`` (a compare-and-swap on the instance still
   being scheduled) *before* any port is made: from then on a delete knows to look;
2. the ports are made or bound, found again by ``device_id`` on a retry;
3. the network info cache is written with the move to ``spawning`` (``build.commit``),
   and ``network_status`` becomes ``allocated``.

A refusal (a full subnet, a port taken meanwhile) ends the build in ERROR with a fault
that says why; the claim is released and the ports made are removed. After a delete, the
ports are released (:func:`release`); when the network service is down that fails, the
row keeps ``network_status`` and the sweep (:func:`release_deleted`) tries again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

from ownstack.common.clients.network import NetworkClient, NetworkClientError
from ownstack.compute import netinfo, ports, states
from ownstack.compute.conductor.claims import Claimed
from ownstack.compute.conductor.env import ConductorEnv
from ownstack.compute.faults import Fault
from ownstack.compute.objects import actions
from ownstack.compute.objects.instances import (
    ALLOCATING,
    HOLDS_PORTS,
    RELEASED,
    deleted_holding_ports,
    latest_request_ids,
    network_rows,
    set_network_info,
    set_network_status,
    update_instance,
)

log = logging.getLogger(__name__)

CONCURRENCY: Final = 8          # servers whose ports are made at once
EVENT_NETWORK: Final = "conductor_allocate_network"


class NoNetworkClient(RuntimeError):
    def __init__(self) -> None:
        super().__init__("the conductor has no network client")


def _client(env: ConductorEnv) -> NetworkClient:
    if env.network is None:
        raise NoNetworkClient()
    return env.network


async def allocate_for(env: ConductorEnv, claimed: Sequence[Claimed]
                       ) -> dict[str, list[dict[str, Any]] | None]:
    """Ports for each claimed instance that asked for some. By uuid: the network info
    cache to write with the move to spawning (``None``: no network asked for); an
    instance missing from the answer failed (ERROR written, claim released) or changed
    meanwhile (a delete), and must not be placed. Only the instances whose row says they
    asked for networks (``ToPlace.networks_asked``) are read: one that asked for none opens
    no session here."""
    asking = [claim.row.uuid for claim in claimed if claim.row.networks_asked]
    rows: dict[str, Any] = {}
    if asking:
        async with env.db.read() as db:
            rows = await network_rows(db, asking)
    result: dict[str, list[dict[str, Any]] | None] = {}
    work: list[tuple[Claimed, Any]] = []
    for claim in claimed:
        row = rows.get(claim.row.uuid)
        if row is None or not row.network_requests:
            result[claim.row.uuid] = None
        else:
            work.append((claim, row))
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(claim: Claimed, row: Any) -> None:
        async with gate:
            info = await _allocate_one(env, claim, row)
        if info is not None:
            result[claim.row.uuid] = info
    await asyncio.gather(*(one(claim, row) for claim, row in work))
    return result


async def _allocate_one(env: ConductorEnv, claim: Claimed, row: Any
                        ) -> list[dict[str, Any]] | None:
    uuid = claim.row.uuid
    async with env.db.write() as db:
        started = await update_instance(db, uuid, expected_task_state=states.SCHEDULING,
                                        expected_vm_state=states.BUILDING,
                                        network_status=ALLOCATING)
    if not started:
        return None
    target = ports.Target(uuid=uuid, project_id=claim.row.project_id, host=claim.host,
                          zone=claim.row.availability_zone or claim.zone,
                          requests=list(row.network_requests),
                          security_groups=list(row.security_groups or []))
    begun = time.time()
    try:
        return await ports.allocate(_client(env), target)
    except ports.AllocationFailed as exc:
        await _failed(env, claim, row, exc.message, exc.details, begun)
    except NetworkClientError as exc:     # the service is down: nothing better to do now
        await _failed(env, claim, row, "Failed to allocate the network(s): the network "
                      f"service failed to answer: {exc.message}", exc.type, begun)
    except Exception as exc:
        log.exception("instance %s: allocating its ports failed", uuid)
        await _failed(env, claim, row, f"Failed to allocate the network(s): {exc!r}", "",
                      begun)
    return None


async def _failed(env: ConductorEnv, claim: Claimed, row: Any, message: str, details: str,
                  started: float) -> None:
    """The build is over: ERROR with the fault, claim released, ports removed."""
    uuid = claim.row.uuid
    async with env.db.write() as db:
        failed = await update_instance(
            db, uuid, expected_task_state=states.SCHEDULING,
            expected_vm_state=states.BUILDING, vm_state=states.ERROR, task_state=None,
            fault=Fault(message, details=details or None).record())
        request_id = claim.request_id or (await latest_request_ids(db, [uuid])).get(uuid)
        if failed and request_id:
            await actions.record_event(db, uuid, request_id, EVENT_NETWORK, start=started,
                                       finish=time.time(), result=actions.ERROR,
                                       host=claim.host, details=message)
    await env.placement.delete_allocations(uuid)
    await release(env, uuid, row.network_requests)
    log.info("instance %s: %s", uuid, message)


async def refresh_nics(env: ConductorEnv, uuid: str) -> list[dict[str, Any]] | None:
    """The instance's info cache rebuilt from its ports now (as ``network-changed`` does),
    and the NICs of its InstanceSpec from it: what a spawn waiting for its ports asks, so
    that a ``network-vif-plugged`` lost on the way (sent before the instance had its host,
    say) costs nothing. ``None`` for an instance that is gone; the cache as it was when the
    network service does not answer."""
    async with env.db.read() as db:
        row = (await network_rows(db, [uuid])).get(uuid)
    if row is None or row.deleted:
        return None
    info = list(row.network_info or [])
    if env.network is not None and (info or row.network_requests):
        try:
            info = await ports.refresh(env.network, uuid, row.network_requests, info)
        except NetworkClientError as exc:
            log.warning("instance %s: ports not read afresh: %s", uuid, exc)
        else:
            async with env.db.write() as db:
                await set_network_info(db, uuid, info)
    return netinfo.nics(info)


async def release(env: ConductorEnv, uuid: str,
                  requests: Sequence[Mapping[str, Any]] | None) -> bool:
    """Delete the ports compute made for ``uuid``, unbind the user's, and record that it
    is done. ``False`` (logged) when the network service failed: the sweep retries."""
    try:
        await ports.deallocate(_client(env), uuid, requests)
    except Exception as exc:
        log.warning("instance %s: its ports could not be released yet: %s", uuid, exc)
        return False
    async with env.db.write() as db:
        await set_network_status(db, uuid, RELEASED, expected=list(HOLDS_PORTS))
    return True


async def release_after_delete(env: ConductorEnv, uuid: str) -> None:
    """After a delete: release the instance's ports if it may hold any."""
    async with env.db.read() as db:
        row = (await network_rows(db, [uuid])).get(uuid)
    if row is not None and row.network_status in HOLDS_PORTS:
        await release(env, uuid, row.network_requests)


async def release_deleted(env: ConductorEnv, limit: int, skip: set[str]) -> int:
    """The sweep's step: release the ports of deleted instances that may still hold
    some (a cleanup that failed, a conductor killed before it ran)."""
    if env.network is None:
        return 0
    async with env.db.read() as db:
        rows = await deleted_holding_ports(db, limit)
    released = 0
    for row in rows:
        if row.uuid not in skip and await release(env, row.uuid, row.network_requests):
            released += 1
    return released
