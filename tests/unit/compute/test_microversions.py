"""Compute's microversions are released API: this test pins them."""

from __future__ import annotations

from ownstack.common.api.microversion import Version
from ownstack.compute.microversions import MICROVERSIONS, NOT_SERVED, VERSIONS


def test_the_list_is_pinned() -> None:
    assert [version for version, _ in VERSIONS] == [f"2.{minor}" for minor in range(1, 97)]
    assert MICROVERSIONS.min_version == Version(2, 1)
    assert MICROVERSIONS.max_version == Version(2, 96)
    assert MICROVERSIONS.service_type == "compute"
    assert MICROVERSIONS.legacy_header == "X-OpenStack-Nova-API-Version"
    assert all(description.strip().endswith(".") for _, description in VERSIONS)


def test_every_version_says_what_it_changed_in_one_line() -> None:
    descriptions = [text for _, text in VERSIONS]
    assert len(set(descriptions)) == len(descriptions)
    assert all("\n" not in text and len(text) < 160 for text in descriptions)


def test_versions_that_change_what_ownstack_serves_are_not_marked_unserved() -> None:
    served = {version for version, text in VERSIONS if NOT_SERVED not in text}
    # Flavors, keypairs, servers, actions, groups, services, hypervisors, usage.
    assert {"2.1", "2.2", "2.3", "2.9", "2.11", "2.13", "2.15", "2.16", "2.19", "2.26",
            "2.28", "2.33", "2.35", "2.37", "2.40", "2.47", "2.53", "2.55", "2.57", "2.61",
            "2.64", "2.71", "2.73", "2.75", "2.86", "2.88", "2.90", "2.94", "2.96",
            "2.20", "2.49", "2.70", "2.79", "2.85", "2.89",     # volume attachments
            "2.6", "2.8", "2.31",                               # the consoles
            "2.43",                                             # os-hosts
            "2.41"} <= served                                   # os-aggregates
    assert {"2.22", "2.59", "2.60", "2.81", "2.93"}.isdisjoint(served)
