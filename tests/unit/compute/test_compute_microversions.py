"""Compute's microversions are released API: this test pins them."""

from __future__ import annotations

from ownstack.common.api.microversion import Version
from ownstack.compute.microversions import MICROVERSIONS, VERSIONS


def test_the_list_is_pinned() -> None:
    assert [version for version, _ in VERSIONS] == [f"2.{minor}" for minor in range(1, 86)]
    assert MICROVERSIONS.min_version == Version(2, 1)
    assert MICROVERSIONS.max_version == Version(2, 85)
    assert MICROVERSIONS.service_type == "compute"
    assert MICROVERSIONS.legacy_header == "X-OpenStack-Nova-API-Version"
    assert all(description.strip() for _, description in VERSIONS)


def test_versions_that_change_flavors_or_keypairs_say_what_changed() -> None:
    changed = {version for version, text in VERSIONS if not text.startswith("No change")}
    assert changed == {"2.1", "2.2", "2.7", "2.10", "2.35", "2.55", "2.61", "2.75"}
