"""The network service's side of the bus (see :mod:`ownstack.network.rpc`): the answers to
agents' calls on topic ``network``, and the nudges it casts to ``network.<host>``.

The API process serves the topic: the port rows are its, so agents' reports land in the
same database its handlers write, through :mod:`ownstack.network.objects`. Several API
processes may serve it at once (competing consumers); every answer is one transaction.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Final

from ownstack.common.agent.tasks import TaskSet
from ownstack.common.bus import Bus, Payload
from ownstack.common.bus.dispatch import TopicServer
from ownstack.common.config import NetworkConfig
from ownstack.common.db.database import Database
from ownstack.network import rpc
from ownstack.network.notifier import ComputeNotifier
from ownstack.network.objects import (
    agents,
    bindings,
    dhcp,
    metadata_lookup,
    router_info,
    sg_members,
)
from ownstack.network.objects.bindings import PortState
from ownstack.network.objects.inserts import is_sqlite
from ownstack.network.rpc import DhcpReadyEntry

log = logging.getLogger(__name__)

SERVERS: Final = 4          # messages of the topic handled at once by one process
_BUS_SAFE_HOST = re.compile(r"[A-Za-z0-9_.\-]{1,190}")

class NetworkRpc:
    """Serves ``network`` and nudges agents; started and stopped with the API's state."""

    def __init__(self, db: Database, bus: Bus, notifier: ComputeNotifier,
                 settings: NetworkConfig) -> None:
        self.db = db
        self.settings = settings
        self.bus = bus
        self.notifier = notifier
        self._tasks = TaskSet()
        self._server = TopicServer(bus, rpc.NETWORK_TOPIC, {
            "report_agent": self.report_agent,
            "host_ports": self.host_ports,
            "host_networks": self.host_networks,
            "get_port": self.get_port,
            "port_status": self.port_status,
            "dhcp_ready": self.dhcp_ready,
            "dhcp_networks": self.dhcp_networks,
            "get_dhcp_network": self.get_dhcp_network,
            "host_routers": self.host_routers,
            "get_router": self.get_router,
            "router_status": self.router_status,
            "group_members": self.group_members,
            "metadata_port": self.metadata_port,
        }, service="network service", servers=SERVERS)

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()
        await self._tasks.cancel()

    # -- calls from agents --------------------------------------------------------------

    async def report_agent(self, payload: Payload) -> dict[str, Any]:
        async with self.db.write() as session:
            row = await agents.report(session, payload)
            return {"id": row.id, "admin_state_up": row.admin_state_up}

    async def host_ports(self, payload: Payload) -> dict[str, Any]:
        async with self.db.read() as session:
            return {"ports": await bindings.host_ports(session, str(payload["host"]))}

    async def host_networks(self, payload: Payload) -> dict[str, Any]:
        async with self.db.read() as session:
            return {"networks": await bindings.host_networks(session, str(payload["host"]))}

    async def get_port(self, payload: Payload) -> dict[str, Any]:
        async with self.db.read() as session:
            return {"port": await bindings.port_info(session, str(payload["port_id"]))}

    async def port_status(self, payload: Payload) -> dict[str, Any]:
        async with self.db.write() as session:
            change = await bindings.report_status(session, str(payload["port_id"]),
                                                  str(payload["host"]),
                                                  str(payload["status"]))
        if change is None:
            return {"applied": False, "status": None}
        self.notifier.port_changes([change])
        return {"applied": True, "status": change[1].status}

    async def dhcp_ready(self, payload: Payload) -> dict[str, Any]:
        entries: list[DhcpReadyEntry] = [
            {"port_id": str(entry["port_id"]), "mac_address": str(entry["mac_address"]),
             "ip_addresses": [str(ip) for ip in entry["ip_addresses"]]}
            for entry in payload["ports"]]
        async with self.db.write() as session:
            cleared, changes = await bindings.report_dhcp_ready(
                session, str(payload["host"]), entries)
        self.notifier.port_changes(changes)
        return {"ports": cleared}

    async def dhcp_networks(self, payload: Payload) -> dict[str, Any]:
        async with self.db.write() as session:
            networks, nudges = await dhcp.host_networks(session, self.settings,
                                                        str(payload["host"]))
        for network_id, hosts in nudges.items():
            await self._cast(hosts, "dhcp_changed", {"network_id": network_id})
        return {"networks": networks}

    async def get_dhcp_network(self, payload: Payload) -> dict[str, Any]:
        async with self.db.read() as session:
            return {"network": await dhcp.network_info(session, str(payload["network_id"]),
                                                       str(payload["host"]))}

    async def host_routers(self, payload: Payload) -> dict[str, Any]:
        host = str(payload["host"])
        async with self.db.write() as session:
            row = await agents.find(session, rpc.AGENT_TYPE, host)
            routing = row is not None and router_info.can_route(row)
            return {"routers": await router_info.host_routers(session, host,
                                                              routing=routing)}

    async def get_router(self, payload: Payload) -> dict[str, Any]:
        async with self.db.read() as session:
            return {"router": await router_info.router_info(session,
                                                            str(payload["router_id"]))}

    async def router_status(self, payload: Payload) -> dict[str, Any]:
        async with self.db.write() as session:
            changed = await router_info.report_status(
                session, str(payload["router_id"]), str(payload["host"]),
                str(payload["status"]))
        return {"applied": bool(changed), "ports": [port_id for port_id, _ in changed]}

    async def group_members(self, payload: Payload) -> dict[str, Any]:
        group_ids = [str(gid) for gid in payload["security_group_ids"]]
        async with self.db.read() as session:
            return {"members": await sg_members.group_members(session, group_ids)}

    async def metadata_port(self, payload: Payload) -> dict[str, Any]:
        network_id, router_id = payload.get("network_id"), payload.get("router_id")
        async with self.db.read() as session:
            port = await metadata_lookup.port_of_address(
                session, str(payload["ip_address"]),
                network_id=str(network_id) if network_id else None,
                router_id=str(router_id) if router_id else None)
        return {"port": port}

    # -- nudges to agents ---------------------------------------------------------------

    async def dhcp_changed(self, network_id: str, hosts: set[str] | None = None) -> None:
        """After a subnet or a port of the network changed: nudge the DHCP server's host,
        and ``hosts`` (those that lost the network). Never raises."""
        try:
            async with self.db.read() as session:
                host, waiting = await _dhcp_lookup(session, network_id)
        except Exception:
            log.exception("could not find the DHCP host of network %s", network_id)
            host, waiting = None, []
        await self._nudge_dhcp(network_id, hosts, host, waiting)

    async def _nudge_dhcp(self, network_id: str, hosts: set[str] | None, serving: str | None,
                          waiting: list[str]) -> None:
        """The casts of :meth:`dhcp_changed`, once its DHCP host (and, when none, the
        ports still waiting for DHCP) are known."""
        hosts = set(hosts or ())
        if serving:
            hosts.add(serving)
        if waiting:
            await self._release_unserved(network_id)
        await self._cast(hosts, "dhcp_changed", {"network_id": network_id})

    async def _release_unserved(self, network_id: str) -> None:
        """A network no DHCP agent serves (any more): its ports stop waiting for DHCP.
        (Should this be lost to a kill, the next report of a port settles it.)"""
        try:
            async with self.db.write() as session:
                changes = await bindings.release_unserved(session, network_id)
        except Exception:
            log.exception("could not release the DHCP blocks of network %s", network_id)
            return
        self.notifier.port_changes(changes)

    async def router_changed(self, router_id: str, *hosts: str) -> None:
        """After a router, its interfaces, gateway, routes or floating IPs changed: nudge
        the agent hosting it (and any host it left). Never raises."""
        try:
            async with self.db.read() as session:
                host = await router_info.router_host(session, router_id)
        except Exception:
            log.exception("could not find the host of router %s", router_id)
            host = ""
        await self._cast({h for h in (host, *hosts) if h}, "router_changed",
                         {"router_id": router_id})

    async def router_gone(self, router_id: str, host: str) -> None:
        """After a router was deleted: nudge the agent of the host it was on. A deleted
        router has no ports, so :meth:`router_changed`'s lookup would find no host.
        Never raises."""
        await self._cast({host} if host else set(), "router_changed",
                         {"router_id": router_id})

    async def port_changed(self, before: PortState | None, after: PortState | None,
                           found: PortChangeFound | None = None) -> None:
        """After a port changed (made, updated, bound, unbound, deleted): nudge the agents
        of the hosts it left and joined, and tell compute of a status change. Never
        raises: the rows are the record, the agents' resync repairs a lost nudge.
        ``found``: what :func:`port_change_found` read at the end of the port's write
        transaction, when it did (then nothing is read here)."""
        port = after or before
        if port is None:
            return
        hosts = {state.host for state in (before, after) if state is not None and state.host}
        await self._cast(hosts, "port_changed", {"port_id": port.id})
        self.notifier.port_changes([(before, after)])
        changed = membership_changes(before, after)
        if not changed:
            # In the background: the port's answer waits for no DHCP lookup (a caller
            # such as the conductor acts on it before the port's agent reports it wired).
            self._tasks.spawn(self.dhcp_changed(port.network_id))
            return
        # One read for all: the hosts holding the groups' members (nudged before the
        # answer, as members_changed does) and what the network's DHCP nudge needs (sent
        # in the background).
        if found is not None:
            concerned, serving, waiting = found
        else:
            try:
                async with self.db.read() as session:
                    concerned, serving, waiting = await dhcp.port_change_lookup(
                        session, changed, port.network_id)
            except Exception:
                log.exception("could not find the hosts concerned by port %s", port.id)
                self._tasks.spawn(self.dhcp_changed(port.network_id))
                return
        if serving or waiting:
            self._tasks.spawn(self._nudge_dhcp(port.network_id, None, serving, waiting))
        await self._cast(concerned, "group_members_changed",
                         {"security_group_ids": sorted(changed)})

    async def security_groups_changed(self, group_ids: set[str]) -> None:
        """After rules of ``group_ids`` were made or deleted: nudge the hosts of their
        ports, whose agents re-wire those ports. Never raises."""
        await self._cast_concerned(sg_members.hosts_in_groups, group_ids,
                                   "security_groups_changed")

    async def members_changed(self, group_ids: set[str]) -> None:
        """After ports joined or left ``group_ids`` or changed addresses: nudge the hosts
        whose ports' rules name them, whose agents rewrite their sets. Never raises."""
        await self._cast_concerned(sg_members.hosts_matching_groups, group_ids,
                                   "group_members_changed")

    async def _cast_concerned(self, find: Callable[[Any, set[str]], Awaitable[set[str]]],
                              group_ids: set[str], method: str) -> None:
        if not group_ids:
            return
        try:
            async with self.db.read() as session:
                hosts = await find(session, group_ids)
        except Exception:
            log.exception("could not find the hosts concerned by groups %s",
                          sorted(group_ids))
            return
        await self._cast(hosts, method, {"security_group_ids": sorted(group_ids)})

    async def network_changed(self, network_id: str) -> None:
        """After a network changed: nudge the agents of the hosts with ports on it."""
        try:
            async with self.db.read() as session:
                hosts = await bindings.hosts_of_network(session, network_id)
        except Exception:
            log.exception("could not find the hosts of network %s", network_id)
            return
        await self._cast(set(hosts), "network_changed", {"network_id": network_id})

    async def _cast(self, hosts: set[str], method: str, payload: Payload) -> None:
        for host in sorted(hosts):
            if not _BUS_SAFE_HOST.fullmatch(host):
                continue        # no agent serves a host name the bus cannot carry
            try:
                await self.bus.cast(rpc.agent_topic(host), method, payload)
            except Exception as exc:
                log.warning("could not nudge the network agent of %s (%s): %s", host,
                            method, exc)


# What NetworkRpc.port_changed reads: the hosts holding members of the groups the change
# concerns, the network's DHCP host, the ports waiting for DHCP on it.
PortChangeFound = tuple[set[str], str | None, list[str]]


async def port_change_found(db: Any, before: PortState | None, after: PortState | None,
                            quiet_groups: Collection[str] = ()) -> PortChangeFound | None:
    """What :meth:`NetworkRpc.port_changed` would read after the port's write transaction
    commits, read at its end instead, in the transaction (``db``), on SQLite only: the
    transaction holds the one write lock from its start, so it reads what its commit
    leaves, with no read session of its own after the commit; whatever a later writer
    changes (a port bound to another host, a network scheduled to an agent) comes with
    that writer's own nudges, which read the rows this commit left. Where writers run
    concurrently (PostgreSQL, MariaDB) the read stays after the commit. None when there
    is nothing to read here (then :meth:`~NetworkRpc.port_changed` reads, or spawns, as
    before). ``quiet_groups``: groups that this transaction read concern no host, with
    the network's DHCP idle (``ports.QUIET_DEFAULT_GROUP``, and a port delete's read),
    and of which it changed no bound member, binding or DHCP block since (a new unbound
    port, a deleted one): a change of those groups alone then finds nothing, with no
    statement."""
    port = after or before
    if port is None or not is_sqlite(db):
        return None
    changed = membership_changes(before, after)
    if not changed:
        return None
    if changed <= set(quiet_groups) and not port.host:
        return set(), None, []
    return await dhcp.port_change_lookup(db, changed, port.network_id)


def membership_changes(before: PortState | None, after: PortState | None) -> set[str]:
    """The groups whose members a port change changed: those it joined or left, and all
    of its groups when its addresses changed (a new or deleted port: all of its groups)."""
    if before is None or after is None:
        state = after or before
        return set(state.security_groups) if state is not None and state.addresses else set()
    changed = set(before.security_groups) ^ set(after.security_groups)
    if before.addresses != after.addresses:
        changed |= set(before.security_groups) | set(after.security_groups)
    return changed


async def _dhcp_lookup(session: Any, network_id: str) -> tuple[str | None, list[str]]:
    """The host serving the network's DHCP; when none, the ports still waiting for it."""
    host, waiting = await dhcp.serving_or_waiting(session, network_id)
    if host:
        return host, []
    return None, waiting
