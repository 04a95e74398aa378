"""Which subsets of the roles a process may run on which bus."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ownstack.common.config import BusConfig, Config, ConfigError, load_config
from ownstack.roles import check_process_can_run, select


def test_a_subset_on_the_in_process_bus_is_refused_unless_it_runs_alone() -> None:
    config = replace(Config(), roles="api,conductor,compute,volume")
    with pytest.raises(ConfigError, match="roles_alone=true"):
        check_process_can_run(config, select(config))
    alone = replace(config, roles_alone=True)
    check_process_can_run(alone, select(alone))         # the network agent runs nowhere


def test_a_subset_on_rabbitmq_and_every_role_in_process_need_no_switch() -> None:
    apart = replace(Config(), roles="api", bus=BusConfig(url="amqp://u:p@127.0.0.1:5672/"))
    check_process_can_run(apart, select(apart))
    check_process_can_run(Config(), select(Config()))


def test_roles_alone_is_read_from_an_override(tmp_path: Path) -> None:
    config = load_config(tmp_path, environ={}, overrides=["roles=api", "roles_alone=true"])
    assert config.roles_alone is True
    check_process_can_run(config, select(config))
    refused = load_config(tmp_path, environ={}, overrides=["roles=api", "roles_alone=no"])
    with pytest.raises(ConfigError):
        check_process_can_run(refused, select(refused))
