"""The network service's start-up step compiles the plain inserts of every network model
(decision 102), so that a write's first insert of a model finds its driver SQL built by
:mod:`ownstack.network.objects.inserts` rather than compiling it on the spot."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql

from helpers.inprocess import ServiceClient
from ownstack.network.objects import inserts
from ownstack.network.objects.models import (
    IpAllocation,
    Network,
    Port,
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
)


def _plain_keys(dialect: Any) -> dict[Any, Any]:
    """The plain inserts (keyed by model and ``or_nothing``) built for ``dialect``."""
    built = inserts._DRIVER_STATEMENTS.get(dialect, {})
    return {key: made for key, made in built.items()
            if isinstance(key, tuple) and len(key) == 2}


def test_the_network_models_are_those_of_the_models_module() -> None:
    found = inserts.network_models()
    assert {SecurityGroup, SecurityGroupRule, Port, PortSecurityGroup, IpAllocation,
            Network} <= set(found)
    assert all(model.__module__ == "ownstack.network.objects.models" for model in found)


def test_nothing_is_compiled_for_a_dialect_that_is_not_sent_driver_sql() -> None:
    dialect = postgresql.dialect()
    assert inserts.compile_plain_inserts(dialect, SecurityGroup) == 0
    assert dialect not in inserts._DRIVER_STATEMENTS


async def test_a_first_group_create_finds_its_inserts_compiled(
        network: ServiceClient) -> None:
    svc = network.app.svc
    dialect = svc.engine.dialect
    assert _plain_keys(dialect) == {}
    await svc.compile_prebuilt_reads()
    warmed = _plain_keys(dialect)
    models = inserts.network_models()
    assert len(warmed) == 2 * len(models)
    assert all(made is not None for made in warmed.values())
    # The group create's three plain inserts (the default group, its rules, the group)
    # and a port's: all found there, none built again.
    await network.call("POST", "/v2.0/security-groups", expect=201,
                       json={"security_group": {"name": "g"}})
    r = await network.call("POST", "/v2.0/networks", expect=201,
                           json={"network": {"name": "n"}})
    await network.call("POST", "/v2.0/ports", expect=201,
                       json={"port": {"network_id": r.json()["network"]["id"]}})
    after = _plain_keys(dialect)
    assert after.keys() == warmed.keys()
    assert all(after[key] is warmed[key] for key in warmed)
    for key in [(SecurityGroup, True), (SecurityGroup, False), (SecurityGroupRule, False)]:
        assert key in warmed
