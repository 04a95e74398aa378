"""Subnet pool rules: defaults, bounds, updates, free blocks and the prefix a subnet gets."""

from __future__ import annotations

import ipaddress

import pytest

from ownstack.common.errors import OwnstackError
from ownstack.network import pool_rules
from ownstack.network.pool_rules import PoolPlan, free_blocks, pick_prefix, plan_pool


def _code(exc: pytest.ExceptionInfo[OwnstackError]) -> str:
    return exc.value.code


def test_defaults_follow_the_ip_version() -> None:
    assert plan_pool({"prefixes": ["10.0.0.0/8"]}) == PoolPlan(("10.0.0.0/8",), 4, 8, 32, 8)
    assert plan_pool({"prefixes": ["fd00::/48"]}) == PoolPlan(("fd00::/48",), 6, 64, 128, 64)
    assert plan_pool({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 16}).default_prefixlen == 16


@pytest.mark.parametrize(("data", "code"), [
    ({"prefixes": []}, "EmptySubnetPoolPrefixList"),
    ({"prefixes": ["10.0.0.0/8", "fd00::/8"]}, "PrefixVersionMismatch"),
    ({"prefixes": ["10.0.0.0/8"], "max_prefixlen": 33}, "IllegalSubnetPoolPrefixBounds"),
    ({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 30, "max_prefixlen": 29},
     "IllegalSubnetPoolPrefixBounds"),
    ({"prefixes": ["10.0.0.0/8"], "default_prefixlen": 4}, "IllegalSubnetPoolPrefixBounds"),
])
def test_refusals(data: dict[str, object], code: str) -> None:
    with pytest.raises(OwnstackError) as exc:
        plan_pool(data)
    assert _code(exc) == code


def test_an_update_may_add_prefixes_but_not_drop_one() -> None:
    current = plan_pool({"prefixes": ["10.0.0.0/16"]})
    grown = plan_pool({"prefixes": ["10.0.0.0/16", "10.1.0.0/16"]}, current)
    assert grown.prefixes == ("10.0.0.0/15",)
    # A wider prefix covering the old one is fine; dropping it is not.
    assert plan_pool({"prefixes": ["10.0.0.0/8"]}, current).prefixes == ("10.0.0.0/8",)
    with pytest.raises(OwnstackError) as exc:
        plan_pool({"prefixes": ["10.1.0.0/16"]}, current)
    assert _code(exc) == "IllegalSubnetPoolPrefixUpdate"
    assert plan_pool({"name": "x"}, current) == current


def test_free_blocks_are_smallest_first() -> None:
    blocks = free_blocks([ipaddress.ip_network("10.0.0.0/22")],
                         [ipaddress.ip_network("10.0.0.0/24")])
    assert [str(b) for b in blocks] == ["10.0.1.0/24", "10.0.2.0/23"]


def test_the_best_fit_is_taken_first() -> None:
    plan = plan_pool({"prefixes": ["10.0.0.0/22"], "default_prefixlen": 24,
                      "min_prefixlen": 22})
    # 10.0.1.0/24 is the smallest hole that fits a /25: taken before splitting the /23.
    assert str(pick_prefix(plan, ["10.0.0.0/24"], prefixlen=25)) == "10.0.1.0/25"
    assert str(pick_prefix(plan, ["10.0.0.0/24"], cidr="10.0.3.0/24")) == "10.0.3.0/24"
    full = ["10.0.0.0/23", "10.0.2.0/23"]
    with pytest.raises(OwnstackError) as exc:
        pick_prefix(plan, full)
    assert _code(exc) == "SubnetAllocationError" and exc.value.status == 409
    with pytest.raises(OwnstackError) as exc:
        pick_prefix(plan, [], cidr="10.0.0.0/21")
    assert _code(exc) == "MinPrefixSubnetAllocationError"


def test_pool_quota_counts_addresses_or_slash_64s() -> None:
    pool_rules.check_pool_quota(4, 512, [24], 24)
    with pytest.raises(OwnstackError) as exc:
        pool_rules.check_pool_quota(4, 511, [24], 24)
    assert _code(exc) == "SubnetPoolQuotaExceeded"
    pool_rules.check_pool_quota(6, 2, [64], 64)
    with pytest.raises(OwnstackError):
        pool_rules.check_pool_quota(6, 2, [64], 63)
    pool_rules.check_pool_quota(4, None, [8], 8)
