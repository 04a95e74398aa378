"""Cold migration in the conductor: the destination and the Placement move (see
:mod:`ownstack.compute.objects.cold_migrations`).

The scheduler picks a host other than the source (the source is an ignored host, as
Nova's ``RequestSpec.ignore_hosts`` for a migrate; a 2.56 target host is the only one
tried). One ``POST /allocations`` moves the instance's allocation on the source to the
migration's uuid and claims the same flavor for the instance on the destination, both
consumer generations guarded, as Nova's ``MigrationTask`` does. A conductor killed after
that write finds the migration holding allocations and reads the destination back from
the instance's, so the move is never made twice.

When the server moves (the source's hand-over, and a revert's end), its ports are bound
to its new host (``binding:host_id``), as Nova's ``finish_resize`` and
``finish_revert_resize`` do. A network service that fails then leaves the ports on the
old host (logged); nothing retries it yet.

Server groups are not considered for the destination yet (Nova's anti-affinity filter
would be); the scheduler's other filters and weighers are.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

import sqlalchemy as sa

from ownstack.common.clients.placement import ConsumerWrite
from ownstack.compute.conductor.build import Builder
from ownstack.compute.conductor.claims import ToPlace
from ownstack.compute.conductor.env import ConductorEnv
from ownstack.compute.conductor.scheduler.request_spec import build_request_spec
from ownstack.compute.objects.cold_migrations import REQUESTED_HOST, SOURCE_HOST
from ownstack.compute.objects.models import ComputeNode, Instance, Migration

log = logging.getLogger(__name__)

MIGRATION_CONSUMER: Final = "MIGRATION"
_TRIES: Final = 3


class NoDestination(Exception):
    """No host other than the source can take the server."""


def _amounts(body: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    return {rp: {rc: int(n) for rc, n in (alloc.get("resources") or {}).items()}
            for rp, alloc in (body.get("allocations") or {}).items()}


async def _node_of(env: ConductorEnv, providers: list[str], source: str | None
                   ) -> tuple[str, str] | None:
    async with env.db.read() as db:
        rows = (await db.execute(sa.select(ComputeNode.host, ComputeNode.hypervisor_hostname)
                                 .where(ComputeNode.uuid.in_(providers)))).all()
    return next(((str(h), str(n)) for h, n in rows if h != source), None)


async def move_to_destination(env: ConductorEnv, builder: Builder, instance: Instance,
                              migration: Migration) -> tuple[str, str]:
    """Claim a destination; its ``(host, node)``. Raises :class:`NoDestination`."""
    placement = env.placement
    args = instance.task_args or {}
    source = str(args.get(SOURCE_HOST) or instance.host)
    wanted = args.get(REQUESTED_HOST)
    if (await placement.allocations(migration.uuid)).get("allocations"):
        # moved by a conductor killed before it could say so
        claimed = _amounts(await placement.allocations(instance.uuid))
        found = await _node_of(env, list(claimed), source)
        if found is None:
            raise NoDestination("the migration's destination allocation is gone")
        return found
    spec = build_request_spec(ToPlace(
        instance.uuid, instance.project_id, instance.user_id, dict(migration.new_flavor),
        dict(instance.image_meta or {}), instance.availability_zone, [source],
        instance.vm_state, instance.task_state, instance.host, None,
        image_ref=instance.image_ref), None)
    for _ in range(_TRIES):
        current = await placement.allocations(instance.uuid)
        old = _amounts(current)
        if not old:
            raise NoDestination(f"instance {instance.uuid} holds no allocation to move")
        hosts = [h for h in await builder._hosts(spec)
                 if h.host != source and (wanted is None or h.host == wanted)]
        if not hosts:
            break
        for host in hosts:
            if await placement.write_consumers({
                    migration.uuid: ConsumerWrite(old, instance.project_id,
                                                  instance.user_id, None,
                                                  MIGRATION_CONSUMER),
                    instance.uuid: ConsumerWrite(host.allocations, instance.project_id,
                                                 instance.user_id,
                                                 current.get("consumer_generation"))}):
                return host.host, host.node
            current = await placement.allocations(instance.uuid)
    name = migration.new_flavor.get("name")
    if wanted:
        raise NoDestination(f"Host {wanted} cannot take the server (flavor {name}).")
    raise NoDestination(f"No host other than {source} has room for flavor {name}.")


async def rebind_ports(env: ConductorEnv, uuid: str, host: str) -> None:
    """Bind the server's ports to ``host``."""
    if env.network is None:
        return
    try:
        for port in await env.network.list_ports(device_id=uuid):
            if port.get("binding:host_id") != host:
                await env.network.update_port(str(port["id"]), {"binding:host_id": host})
    except Exception as exc:
        log.warning("instance %s: its ports could not be bound to %s: %s", uuid, host, exc)
