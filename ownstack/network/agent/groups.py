"""The security-group controller: the members of each remote group, per host.

A rule with a ``remote_group_id`` matches the addresses of that group's ports, which the
driver holds once per group (the Linux driver's nft sets), so a port joining a group
rewrites one set and no port's rules. Keyed by group id:

* ``desired``: the group's members from the network service (``group_members``), when a
  filtered port wired here has a rule naming it; ``None`` otherwise;
* ``observed``: the members the driver holds for it, or ``None``;
* :func:`plan`: SET when they differ (the driver makes an empty set as it wires a port
  whose rules name a group, so a new group is a SET too), REMOVE when nothing here names
  the group any more, else NOTHING. Addresses compare as networks
  (:func:`~ownstack.network.drivers.base.group_networks`), whichever way each side
  spells them.

Nudged by the service's ``group_members_changed`` casts and by the port controller for a
group it has not set yet; the resync repairs anything a lost nudge left.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from ownstack.common.agent import Controller, Outcome, Retry, Surveyed
from ownstack.network.agent.server_api import NetworkServerAPI
from ownstack.network.drivers.base import (
    Capability,
    DriverError,
    NetworkDriver,
    PortSpec,
    group_networks,
)
from ownstack.network.rpc import MembersInfo

log = logging.getLogger(__name__)

DRIVER_RETRY = 2.0


class GroupStep(StrEnum):
    NOTHING = "nothing"
    SET = "set"
    REMOVE = "remove"


@dataclass(frozen=True)
class Members:
    """A group's addresses, IPv4 and IPv6, in one canonical spelling."""

    v4: tuple[str, ...]
    v6: tuple[str, ...]

    @classmethod
    def of(cls, v4: list[str], v6: list[str]) -> Members:
        return cls(tuple(group_networks(v4, 4)), tuple(group_networks(v6, 6)))

    @classmethod
    def answered(cls, info: MembersInfo) -> Members:
        return cls.of(list(info["v4"]), list(info["v6"]))


def plan(desired: Members | None, observed: Members | None) -> GroupStep:
    """The step that brings the host's copy of one group to ``desired``."""
    if desired is None:
        return GroupStep.REMOVE if observed is not None else GroupStep.NOTHING
    return GroupStep.NOTHING if observed == desired else GroupStep.SET


def named_groups(specs: list[PortSpec], *, filtering: bool) -> set[str]:
    """The groups the rules of these wired ports name as remote groups."""
    if not filtering:
        return set()
    return {group_id for spec in specs if spec.port_security_enabled
            for group_id in spec.remote_group_ids}


class GroupController(Controller[str, Members, Members, GroupStep]):
    """The remote groups of one host, keyed by group id."""

    name = "security group"

    def __init__(self, *, driver: NetworkDriver, server: NetworkServerAPI) -> None:
        self.driver = driver
        self.server = server
        self.set_here: set[str] = set()     # groups this process has set at least once

    async def _named(self) -> set[str]:
        filtering = bool(self.driver.capabilities.get(Capability.PORT_FILTER.value))
        return named_groups([port.spec for port in await self.driver.wired_ports()],
                            filtering=filtering)

    async def desired(self, key: str) -> Members | None:
        if key not in await self._named():
            return None
        answer = await self.server.group_members([key])
        return Members.answered(answer.get(key, {"v4": [], "v6": []}))

    async def observed(self, key: str) -> Members | None:
        held = (await self.driver.group_members()).get(key)
        return None if held is None else Members.of(*held)

    def plan(self, desired: Members | None, observed: Members | None) -> GroupStep:
        return plan(desired, observed)

    def idle(self, plan: GroupStep) -> bool:
        return plan == GroupStep.NOTHING

    async def apply(self, key: str, plan: GroupStep, desired: Members | None,
                    observed: Members | None) -> Outcome:
        try:
            if plan == GroupStep.SET and desired is not None:
                await self.driver.set_group_members(key, list(desired.v4), list(desired.v6))
                self.set_here.add(key)
                log.info("security group %s: %d members", key,
                         len(desired.v4) + len(desired.v6))
            elif plan == GroupStep.REMOVE:
                await self.driver.remove_group(key)
                self.set_here.discard(key)
                log.info("security group %s: no port here names it; removed", key)
        except DriverError as exc:
            # A port wired meanwhile names it again: the next pass sees that.
            return Retry(DRIVER_RETRY, f"the host refused: {exc}")
        return None

    async def survey(self) -> list[Surveyed[str, Members, Members]]:
        """Every group named here or held here; what the host holds is read first."""
        held = {key: Members.of(*value)
                for key, value in (await self.driver.group_members()).items()}
        named = await self._named()
        answers = await self.server.group_members(sorted(named))
        desired = {key: Members.answered(answers.get(key, {"v4": [], "v6": []}))
                   for key in named}
        return [Surveyed(key, desired.get(key), held.get(key))
                for key in sorted(named | set(held))]
