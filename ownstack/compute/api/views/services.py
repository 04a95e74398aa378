"""Compute service bodies (``os-services``) and the availability zones they make up
(``os-availability-zone``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ownstack.common.api.microversion import Version, at_least
from ownstack.compute.api.views.times import nova_time
from ownstack.compute.objects import hosts
from ownstack.compute.objects.models import ComputeService


def service(version: Version, service: ComputeService, down_time: float) -> dict[str, Any]:
    """One service; it is ``up`` while heard from within ``down_time`` seconds."""
    view: dict[str, Any] = {
        "id": service.uuid if at_least(version, "2.53") else service.id,
        "binary": service.binary, "host": service.host, "zone": hosts.zone_of(service),
        "status": "disabled" if service.disabled else "enabled",
        "state": "up" if hosts.is_up(service, down_time) else "down",
        "updated_at": nova_time(hosts.heartbeat(service)),
        "disabled_reason": service.disabled_reason,
    }
    if at_least(version, "2.11"):
        view["forced_down"] = service.forced_down
    return view


def legacy_action(host: str, binary: str, result: dict[str, Any]) -> dict[str, Any]:
    """The answer of a pre-2.53 ``PUT /os-services/{action}``: what the action set."""
    return {"service": {"host": host, "binary": binary, **result}}


def zones(zones: Sequence[hosts.Zone]) -> dict[str, Any]:
    """The zones users may ask for: the ``internal`` zone of non-compute services is left
    out, as Nova does."""
    return {"availabilityZoneInfo": [
        {"zoneName": zone.name, "zoneState": {"available": zone.available}, "hosts": None}
        for zone in zones if zone.name != hosts.INTERNAL_ZONE]}


def zones_detail(zones: Sequence[hosts.Zone], down_time: float) -> dict[str, Any]:
    """Every zone, and the services of each available one, host by host."""
    info: list[dict[str, Any]] = []
    for zone in zones:
        zone_hosts: dict[str, Any] | None = None
        if zone.available:
            zone_hosts = {host: {service.binary: {
                "available": hosts.is_up(service, down_time), "active": not service.disabled,
                "updated_at": nova_time(hosts.heartbeat(service))} for service in services}
                for host, services in sorted(zone.hosts.items())}
        info.append({"zoneName": zone.name, "zoneState": {"available": zone.available},
                     "hosts": zone_hosts})
    return {"availabilityZoneInfo": info}
